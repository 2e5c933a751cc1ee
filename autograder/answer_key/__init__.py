"""The answer key: reference implementations of tasks students write, which only the grader has.

The student edition ships ``course`` (with the visible checks of ``course.grading``) but never
``autograder``, so a reference answer kept here is out of students' reach. Two users:

* hidden test lines that must compare with a reference, for example
  ``from autograder.answer_key import feature_maps as key`` then ``key.check_extractor(...)``
  (under ``course grade`` test cells run in the grading worker, which imports this package; in the
  instructor's JupyterLab and in ``course handouts`` the source notebook's kernel imports it);
* the test suite, which grades the checks of ``course.grading`` against these answers.

Visible checks never use this package: they test properties a correct answer has (shapes, where each
tile lies, a map's peak), so a student can run them without the answer. ``autograder.scan`` flags an
answer cell that touches ``autograder`` (``grader-code``).
"""
