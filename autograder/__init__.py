"""The instructor's pipeline behind the ``course`` command (``autograder.cli``).

The students' library, ``course``, never imports this package; this package
imports ``course`` (the checks the test cells call, the data kit's location).

The command and its non-grading work:

- ``autograder.cli``            the ``course`` command: release, grade, handouts, doctor, fmt
- ``autograder.nbgrader_env``   the course root, its nbgrader config, running nbgrader converters
- ``autograder.release``        ``course release``: source/ -> release/, registered in the gradebook
- ``autograder.leaks``          checks that a release holds no solution or hidden test
- ``autograder.handouts``       ``course handouts``: executes lectures and solutions, renders HTML
- ``autograder.notebook_format`` ``course fmt``: the one canonical form of authored notebooks
- ``autograder.cells``          one notion of a notebook cell: kinds, regions, parsing, imports

Grading (``course grade``), stage by stage:

- ``autograder.batch``          runs the stages for each submission, ``--jobs`` at a time
- ``autograder.intake``         refuses what is not a gradable notebook (bad JSON, nbformat, empty, huge, misnamed)
- ``autograder.normalise``      the private copy: a submission rebuilt on the release (order, count, metadata)
- ``autograder.scan``           flags code that tampers with the grader, or a library shortcut, for review
- ``autograder.worker``         the sandboxed run: nbgrader autograde + feedback for one student, in its own process
- ``autograder.execute``        nbgrader's Execute step: clean stops at limits, test cells handed to the verdict stage
- ``autograder.verdict``        the verdict: test cells run in the worker, the student's work fetched as data
- ``autograder.crossing``       what crosses the boundary and how: values, arrays, tables, models, function handles
- ``autograder.kernel_side``    the kernel's half of the boundary: hands names and call results over as data
- ``autograder.sandbox``        the kernel's launcher: own user, no network, private view of the files, rlimits
- ``autograder.feedback``       feedback preprocessors that keep hidden tests out of feedback
- ``autograder.statuses``       the verdict: graded / timeout / memory / crashed / malformed / missing
- ``autograder.gradebook_sync`` the merge: one student's grades into the course's gradebook, one transaction
- ``autograder.records``        finished rows and their fingerprints, so a batch resumes
- ``autograder.report``         the grades CSV and the score-distribution plot in reports/
- ``autograder.samples``        sample submissions built from fixtures/ASSIGNMENT/*.json

Submodules import nbgrader, papermill and friends lazily, so importing this
package (and ``course --help``) stays fast.
"""
