"""Copying one student's grades from a private gradebook into the course's gradebook.

Each submission is autograded against a private copy of the gradebook (see
:mod:`autograder.batch`), so grading jobs never write the shared SQLite file at
the same time. When a job is done, the batch (one thread at a time, under a
lock) copies that student's results in with :func:`merge_submission`, in one
transaction: a grader killed half way leaves the student either fully
updated or untouched. Grades an instructor gave by hand are kept.
"""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry


def merge_submission(main_url: str, private_url: str, assignment: str, student: str) -> None:
    """Make ``student``'s submission of ``assignment`` in ``main_url`` match the private gradebook's."""
    with Gradebook(private_url) as src, Gradebook(main_url) as dst:
        theirs = src.find_submission(assignment, student)
        kwargs = {"timestamp": theirs.timestamp} if theirs.timestamp else {}
        dst.update_or_create_student(student)
        dst.update_or_create_submission(assignment, student, **kwargs)
        for notebook in theirs.notebooks:
            for grade in notebook.grades:
                ours = dst.find_grade(grade.name, notebook.name, assignment, student)
                ours.auto_score = grade.auto_score
                ours.needs_manual_grade = bool(grade.needs_manual_grade) and ours.manual_score is None
            for comment in notebook.comments:
                dst.find_comment(comment.name, notebook.name, assignment, student).auto_comment = comment.auto_comment
            dst.find_submission_notebook(notebook.name, assignment, student).flagged = notebook.flagged
        dst.db.commit()


def drop_submission(main_url: str, assignment: str, student: str) -> None:
    """Remove ``student``'s submission of ``assignment`` (a stale grade must not outlive a failed regrade)."""
    with Gradebook(main_url) as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass
