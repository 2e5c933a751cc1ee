"""The merge stage: one student's grades from a private gradebook into the course's, in one transaction.

Each submission is autograded against a private copy of the gradebook (see
:mod:`autograder.batch`), so grading jobs never write the shared SQLite file at
the same time. When a job is done, the batch (one thread at a time, under a
lock) copies that student's results in with :func:`merge_submission`, or
removes a stale submission with :func:`drop_submission`. Grades an instructor
gave by hand are kept.

**One transaction, for real.** nbgrader's ``Gradebook`` methods commit on
their own (``update_or_create_student``, ``add_submission``,
``remove_submission_notebook``...), so a merge made of them would be several
transactions, and a grader killed between two of them would leave a student
half updated. :func:`one_transaction` holds the Gradebook's session in a single
transaction instead: while it is open, the methods' commits only flush their
changes into that transaction, and it commits once at the end (or rolls back
on an error). SQLite makes that commit atomic, so a grader killed at any point
of a merge (even ``kill -9``) leaves the gradebook as it was before the merge
or as it is after it, never in between; ``tests/test_gradebook_sync.py`` kills
a merge before every statement it sends, and before and after its commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nbgrader.api import Gradebook, MissingEntry


@contextmanager
def one_transaction(gradebook: Gradebook) -> Iterator[Gradebook]:
    """Everything done to ``gradebook`` inside the block is one transaction: committed once when the block
    ends, rolled back if it raises."""
    session = gradebook.db
    session.commit()  # nothing of before the block joins it
    session.commit = session.flush  # nbgrader's own commits: flushes into this transaction
    try:
        yield gradebook
    except BaseException:
        del session.commit
        session.rollback()
        raise
    del session.commit
    session.commit()


def merge_submission(main_url: str, private_url: str, assignment: str, student: str) -> None:
    """Make ``student``'s submission of ``assignment`` in ``main_url`` match the private gradebook's."""
    with Gradebook(private_url) as src, Gradebook(main_url) as dst, one_transaction(dst):
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


def drop_submission(main_url: str, assignment: str, student: str) -> None:
    """Remove ``student``'s submission of ``assignment`` (a stale grade must not outlive a failed regrade),
    in one transaction."""
    with Gradebook(main_url) as gb, one_transaction(gb):
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass
