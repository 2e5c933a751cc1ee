"""The status of one graded submission, as the grades CSV reports it.

``graded``: the notebook ran and was scored (tests that failed score 0).
``timeout``: it ran past a time limit (per cell, per notebook or CPU seconds).
``memory``: it ran out of memory.
``crashed``: the kernel died, the notebook hit another limit, or nbgrader failed.
``malformed``: the file is not a notebook the grader accepts (bad JSON, wrong
nbformat, empty, too large).
``missing``: no notebook of the assignment under its expected name.

In every status but ``graded``, the tests that had not run when the problem
happened score 0; ``malformed`` and ``missing`` score 0 throughout.
"""

GRADED, TIMEOUT, MEMORY, CRASHED, MALFORMED, MISSING = "graded", "timeout", "memory", "crashed", "malformed", "missing"
STATUSES = (GRADED, TIMEOUT, MEMORY, CRASHED, MALFORMED, MISSING)

# the first columns of reports/grades-ASSIGNMENT.csv; one column per graded cell follows
REPORT_COLUMNS = (
    "student",
    "status",
    "score",
    "max_score",
    "auto_score",
    "auto_max_score",
    "needs_manual_grade",
    "seconds",
    "message",
    "flags",
)
