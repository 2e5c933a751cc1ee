"""The instructor's pipeline behind the ``course`` command (see ``course/cli.py``).

- ``autograder.nbgrader_env``  the course root, its nbgrader config, running nbgrader converters
- ``autograder.release``       ``course release``: source/ -> release/, registered in the gradebook
- ``autograder.leaks``         checks that a release holds no solution or hidden test
- ``autograder.batch``         ``course grade``: one child process per submission, statuses, CSV report
- ``autograder.worker``        the child process: nbgrader autograde + feedback for one student
- ``autograder.feedback``      the feedback preprocessor that hides hidden tests
- ``autograder.samples``       sample submissions built from fixtures/ASSIGNMENT/*.json

Submodules import nbgrader, papermill and friends lazily, so importing this
package (and ``course --help``) stays fast.
"""
