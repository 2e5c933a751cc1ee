"""Checks that the assignments' test cells call, with messages written for students.

* :mod:`course.grading.core`: the generic checks every assignment uses:
  :func:`~course.grading.core.require`, layer shapes and types, parameter
  counts, reported numbers, accuracy thresholds, and the grading budgets of
  the run modes;
* one module per assignment, named like its folder in ``source/``
  (:mod:`course.grading.lenet5`, ...): that assignment's specification, its
  budgets and the checks only it needs. It re-exports the core checks its
  tests call, so a notebook imports one module::

      from course.grading import lenet5 as grading

      grading.require(globals(), "model")
      grading.check_layer_shapes(model)

Every check raises :class:`AssertionError` with one sentence saying what is
wrong and what to do, and returns quietly (or returns what it measured) when
all is well.

**Rules for course authors.** A test cell uses the student's work only as
data: numbers, strings and arrays; Keras models made of Keras layers; the
student's functions called on arrays; the course's own result objects
(:class:`course.train.TrainResult`). No check may rely on object identity,
on state kept in a module, or on side effects of the student's cells: when an
assignment is graded, these checks run in the grader's own process, and the
student's work is fetched from the kernel as data (the course's grading
pipeline documents how each kind of value crosses). A model with a Lambda
layer, or a layer class the student wrote, does not cross.

Students receive this package, so it holds no answer: its checks test
properties a correct answer has. A check that must compare with a reference
answer belongs with the grader, outside this package, and is called from
hidden test lines only.
"""
