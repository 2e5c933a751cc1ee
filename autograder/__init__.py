"""The instructor's pipeline behind the ``course`` command (see ``course/cli.py``).

- ``autograder.nbgrader_env``   the course root, its nbgrader config, running nbgrader converters
- ``autograder.release``        ``course release``: source/ -> release/, registered in the gradebook
- ``autograder.leaks``          checks that a release holds no solution or hidden test
- ``autograder.batch``          ``course grade``: one worker process per submission, ``--jobs``, resuming, CSV
- ``autograder.statuses``       graded / timeout / memory / crashed / malformed / missing
- ``autograder.intake``         refuses what is not a gradable notebook (bad JSON, wrong nbformat, empty, huge, misnamed)
- ``autograder.normalise``      rebuilds a submission on the release (cells' order, count, metadata)
- ``autograder.scan``           flags code that tampers with the grader, for the instructor to review
- ``autograder.worker``         the worker process: nbgrader autograde + feedback for one student
- ``autograder.execute``        nbgrader's Execute step with clean stops at limits and guarded test cells
- ``autograder.guard``          runs inside the kernel: genuine helpers back before each test, signed receipts
- ``autograder.sandbox``        the kernel's launcher: own user, no network, private view of the files, rlimits
- ``autograder.gradebook_sync`` one student's grades from a private gradebook into the course's
- ``autograder.feedback``       feedback preprocessors that keep hidden tests out of feedback
- ``autograder.report``         the score-distribution plot in reports/
- ``autograder.samples``        sample submissions built from fixtures/ASSIGNMENT/*.json

Submodules import nbgrader, papermill and friends lazily, so importing this
package (and ``course --help``) stays fast.
"""
