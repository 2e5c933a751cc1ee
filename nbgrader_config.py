"""nbgrader configuration for the course (the repository root is the course root).

nbgrader reads this file when it runs in this folder, and ``course release`` /
``course grade`` load it explicitly (user-level Jupyter config is ignored there,
so every instructor grades with the same settings).
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from autograder.feedback import HideHiddenTests, ScrubHiddenText

c = get_config()  # noqa: F821 (injected by traitlets when nbgrader loads this file)

# The course root is the folder holding this file, wherever nbgrader is started
# from; a copy of the course (e.g. a test's temporary copy) grades in the copy.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# Per-cell time limit while autograding with plain `nbgrader autograde`. nbgrader's
# default (30 s) is far too short for the assignment's training cell, even with the
# small grading budget on a slow laptop. `course grade` sets its own limits per cell
# and per notebook (--cell-timeout, default also 300 s, and --timeout).
c.Execute.timeout = 300

# Feedback must not show hidden tests. nbgrader's feedback step copies the
# autograded notebook, whose test cells hold the hidden region and whose
# tracebacks quote it; HideHiddenTests removes both (see autograder/feedback.py).
# ScrubHiddenText first removes student outputs quoting hidden tests; it needs the
# hidden regions, so it must come BEFORE HideHiddenTests.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ScrubHiddenText, HideHiddenTests]
