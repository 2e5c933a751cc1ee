"""The theory quiz's question bank: numbers per student, the id they come from, the answer checks, and a
sample submission that is consistent with the bank."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import nbformat
import pytest

from autograder import cells
from course.grading import theory_quiz as quiz

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source" / "theory_quiz" / "theory_quiz.ipynb"
FIXTURES = ROOT / "autograder" / "fixtures" / "theory_quiz"


@pytest.fixture
def not_grading(monkeypatch):
    for name in ("NBGRADER_EXECUTION", "COURSE_STUDENT_ID", "JUPYTERHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _solutions() -> dict[str, str]:
    """{question: the reference answer's code} from the source notebook."""
    nb = nbformat.read(SOURCE, as_version=4)
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and cells.is_answer_cell(cell):
            lines = [line.text for line in cells.lines(cell.source) if line.inside(cells.SOLUTION)]
            found[cells.grade_id(cell)] = "\n".join(lines)
    return found


def _answers(student: str) -> dict:
    numbers = quiz.questions(student)
    answers = {}
    for question, code in _solutions().items():
        namespace = {"p": getattr(numbers, question, None)}
        exec(code, namespace)  # the instructor's reference answer
        answers[question] = namespace[question]
    return answers


def _agree(a, b) -> bool:
    return a == b if isinstance(a, (int, str)) else math.isclose(a, b, rel_tol=quiz.RELATIVE_TOLERANCE)


def test_the_quiz_has_at_least_20_questions_most_with_numbers_of_their_own(not_grading):
    answers = _answers("practice")
    assert len(answers) >= 20
    numeric = [q for q, a in answers.items() if not isinstance(a, str)]
    assert len(numeric) >= 12
    assert all(hasattr(quiz.questions("practice"), q) for q in numeric)


def test_numbers_are_the_same_for_one_student_and_differ_between_students(not_grading):
    assert quiz.questions("alice") == quiz.questions("alice")
    students = [f"student{i}" for i in range(30)]
    answers = {s: _answers(s) for s in students}
    numeric = [q for q, a in answers[students[0]].items() if not isinstance(a, str)]
    shared = [
        sum(_agree(answers[x][q], answers[y][q]) for q in numeric) / len(numeric)
        for x, y in itertools.combinations(students, 2)
    ]
    assert sum(shared) / len(shared) < 0.15, "two students share few numeric answers on average"
    assert max(shared) <= 0.5, "no two students share half their numeric answers"
    for q in numeric:
        assert len({repr(answers[s][q]) for s in students}) >= 5, f"{q} has too few different answers"


def test_reference_answers_match_the_published_figures(not_grading):
    assert quiz.vgg_parameters(16) == 138_357_544 and quiz.vgg_parameters(19) == 143_667_240
    numbers = quiz.questions("practice")
    # the formulas of the reference answers, on the lectures' worked examples
    code = _solutions()
    for question, values, expected in [
        ("q01", quiz._n(n=32, k=5, p=0, s=1), 28),
        ("q02", quiz._n(k=5, c_in=1, c_out=6), 156),  # LeNet-5's C1 (LeCun et al. 1998)
        ("q07", quiz._n(n=32), 5),
        ("q09", quiz._n(layers=3), 7),
        ("q11", quiz._n(size=224), 102_764_544),
        ("q15", quiz._n(channels=512, classes=1000), 513_000),
    ]:
        namespace = {"p": values}
        exec(code[question], namespace)
        assert namespace[question] == expected, question
    assert 0.85 < _answers("practice")["q12"] < 0.94
    assert str(numbers).startswith("numbers for student id 'practice'")


def test_which_id_the_numbers_come_from(not_grading, tmp_path):
    assert quiz.student_id() == "practice"
    assert quiz.student_id("bob") == "bob"
    not_grading.setenv("JUPYTERHUB_USER", "hubuser")
    assert quiz.student_id() == "hubuser" and quiz.student_id("bob") == "bob"
    # while grading, the grader's id wins over what the notebook says
    not_grading.setenv("NBGRADER_EXECUTION", "autograde")
    folder = tmp_path / "autograded" / "carol" / "theory_quiz"
    folder.mkdir(parents=True)
    not_grading.chdir(folder)
    assert quiz.student_id("bob") == "carol", "plain nbgrader: the student's folder"
    not_grading.setenv("COURSE_STUDENT_ID", "dave")
    assert quiz.student_id("bob") == "dave", "course grade: the id it sets"
    assert quiz.questions("bob") == quiz.questions("dave")


def test_answer_checks(capsys):
    quiz.check_number({"q": 3}, "q", whole=True)
    quiz.check_choice({"q": " B "}, "q")
    for namespace, whole in [
        ({"q": "3"}, False),
        ({"q": 2.5}, True),
        ({"q": float("nan")}, False),
        ({"q": None}, False),
    ]:
        with pytest.raises(AssertionError):
            quiz.check_number(namespace, "q", whole=whole)
    with pytest.raises(AssertionError, match="not defined"):
        quiz.check_number({}, "q")
    with pytest.raises(AssertionError, match="one letter"):
        quiz.check_choice({"q": "e"}, "q")
    quiz.check_equal(7, 7, "q")
    quiz.check_equal("b", "b", "q")
    quiz.check_close(0.8937, 0.89366, "q")
    for value, expected in [(8, 7), (True, 1)]:
        with pytest.raises(AssertionError):
            quiz.check_equal(value, expected, "q")
    with pytest.raises(AssertionError):
        quiz.check_equal("a", "b", "q")
    with pytest.raises(AssertionError):
        quiz.check_close(0.90, 0.8937, "q")
    quiz.explain("because")
    assert capsys.readouterr().out == "Why: because\n"


def test_the_copied_sample_holds_a_classmates_answers(not_grading):
    sample = json.loads((FIXTURES / "copied.json").read_text())
    theirs, own = _answers("classmate"), _answers("copied")
    numeric = [q for q, a in theirs.items() if not isinstance(a, str)]
    assert sorted(sample["replace"]) == sorted(numeric)
    for q in numeric:
        namespace = {}
        exec(sample["replace"][q], namespace)
        assert namespace[q] == theirs[q], q
    agree = [q for q in numeric if _agree(theirs[q], own[q])]
    choices = len(theirs) - len(numeric)
    assert sample["expect"]["auto_score"] == choices + len(agree)
    assert sorted(sample["expect"]["failing"]) == sorted(f"test_{q}" for q in numeric if q not in agree)
