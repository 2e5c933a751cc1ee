"""Kill a gradebook merge at every point (run by tests/test_gradebook_sync.py in a fresh interpreter).

    python tests/kill_merge.py WORKDIR SCENARIO [--naive]

SCENARIO is ``new`` (the student has no submission yet), ``update`` (an earlier
submission, with a grade given by hand) or ``drop`` (the submission is removed).
The merge first runs once to count the SQL statements it sends to the course's
gradebook and to see the state after it. Then, for every point (before each of
those statements, before the commit, after the merge), a forked child runs the
merge on a fresh copy of the gradebook and ends itself with ``os._exit`` at that
point, the way ``kill -9`` would end it: no cleanup, no rollback. The parent then
opens the copy (SQLite rolls back what a dead writer left) and compares it with
the states before and after. ``--naive`` runs the merge without
``one_transaction`` (nbgrader's own commits, as the merge was before), to show
that the kills can tell the difference.
Prints one JSON object: the statement count and, per point, "before", "after"
or "neither".
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import sqlite3
import sys
import uuid
from pathlib import Path

import nbgrader.api
from nbgrader.api import Gradebook
from sqlalchemy import event
from sqlalchemy.engine import Engine

from autograder import gradebook_sync

ASSIGNMENT, NOTEBOOK, STUDENT = "a1", "nb", "s1"
KILLED = 77


def _structure(gb: Gradebook) -> None:
    gb.add_assignment(ASSIGNMENT)
    gb.add_notebook(NOTEBOOK, ASSIGNMENT)
    for name in ("test_one", "test_two"):
        gb.add_grade_cell(name, NOTEBOOK, ASSIGNMENT, max_score=2, cell_type="code")
    gb.add_grade_cell("answer", NOTEBOOK, ASSIGNMENT, max_score=4, cell_type="markdown")
    gb.add_solution_cell("answer", NOTEBOOK, ASSIGNMENT)
    gb.add_solution_cell("code", NOTEBOOK, ASSIGNMENT)


def _submit(gb: Gradebook, student: str, scores: dict[str, float], manual: dict[str, float] | None = None) -> None:
    gb.add_student(student)
    gb.add_submission(ASSIGNMENT, student)
    for name, score in scores.items():
        grade = gb.find_grade(name, NOTEBOOK, ASSIGNMENT, student)
        grade.auto_score, grade.needs_manual_grade = score, False
    grade = gb.find_grade("answer", NOTEBOOK, ASSIGNMENT, student)
    grade.needs_manual_grade = True
    for name, score in (manual or {}).items():
        grade = gb.find_grade(name, NOTEBOOK, ASSIGNMENT, student)
        grade.manual_score, grade.needs_manual_grade = score, False
    gb.find_comment("code", NOTEBOOK, ASSIGNMENT, student).auto_comment = f"comment for {student}"
    gb.db.commit()


def build(workdir: Path, scenario: str) -> tuple[Path, Path]:
    """The course's gradebook and the student's private one, for ``scenario``."""
    main, private = workdir / "main.db", workdir / "private.db"
    with Gradebook(f"sqlite:///{main}") as gb:
        _structure(gb)
        _submit(gb, "someone_else", {"test_one": 1, "test_two": 1})
        if scenario in ("update", "drop"):
            _submit(gb, STUDENT, {"test_one": 0, "test_two": 2}, manual={"answer": 3})
    with Gradebook(f"sqlite:///{private}") as gb:
        _structure(gb)
        _submit(gb, STUDENT, {"test_one": 2, "test_two": 0})
    return main, private


def dump(path: Path) -> list:
    """Every row of every table, in a fixed order (opening the file rolls back a dead writer's work)."""
    connection = sqlite3.connect(path)
    try:
        tables = [
            row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        return [[table, sorted(map(repr, connection.execute(f'SELECT * FROM "{table}"')))] for table in tables]
    finally:
        connection.close()


@contextlib.contextmanager
def commits_as_nbgrader_does(gradebook: Gradebook):
    """The merge as it was before ``one_transaction``: nbgrader's methods commit on their own, then one
    last commit for the scores."""
    yield gradebook
    gradebook.db.commit()


def run(scenario: str, main: Path, private: Path) -> None:
    """One merge (or drop), with the same row ids every time (nbgrader makes them with uuid4)."""
    counter = itertools.count(10**6)
    nbgrader.api.uuid4 = lambda: uuid.UUID(int=next(counter))
    if scenario == "drop":
        gradebook_sync.drop_submission(f"sqlite:///{main}", ASSIGNMENT, STUDENT)
    else:
        gradebook_sync.merge_submission(f"sqlite:///{main}", f"sqlite:///{private}", ASSIGNMENT, STUDENT)


def main(argv: list[str]) -> int:
    workdir, scenario, naive = Path(argv[0]), argv[1], "--naive" in argv
    if naive:
        gradebook_sync.one_transaction = commits_as_nbgrader_does
    workdir.mkdir(parents=True, exist_ok=True)
    pristine, private = build(workdir, scenario)
    before = dump(pristine)

    state = {"statements": 0, "kill_at": None}
    target = str(workdir / "run.db")

    def before_statement(conn, cursor, statement, parameters, context, executemany):
        if not str(conn.engine.url).endswith(target):
            return
        if state["kill_at"] == state["statements"]:
            os._exit(KILLED)
        state["statements"] += 1

    def before_commit(conn):
        if str(conn.engine.url).endswith(target) and state["kill_at"] == "commit":
            os._exit(KILLED)

    event.listen(Engine, "before_cursor_execute", before_statement)
    event.listen(Engine, "commit", before_commit)

    run_db = Path(target)
    shutil.copy2(pristine, run_db)
    run(scenario, run_db, private)
    after = dump(run_db)
    count = state["statements"]

    outcomes = {}
    for point in [*range(count), "commit", "after"]:
        shutil.copy2(pristine, run_db)
        for leftover in (run_db.with_name(run_db.name + "-journal"), run_db.with_name(run_db.name + "-wal")):
            leftover.unlink(missing_ok=True)
        state.update(statements=0, kill_at=point)
        child = os.fork()
        if child == 0:
            try:
                run(scenario, run_db, private)
            finally:
                os._exit(KILLED if point == "after" else 0)
        _, status = os.waitpid(child, 0)
        if os.waitstatus_to_exitcode(status) != KILLED:
            outcomes[str(point)] = "not killed"
            continue
        found = dump(run_db)
        outcomes[str(point)] = "before" if found == before else "after" if found == after else "neither"
    print(json.dumps({"statements": count, "changed": before != after, "outcomes": outcomes}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
