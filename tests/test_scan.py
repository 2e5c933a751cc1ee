"""autograder.scan: tampering code is flagged, honest answers (the reference solution, the release) are not."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.samples import Sample, build_notebook
from autograder.scan import Finding, assignment_shortcuts, scan_code, scan_notebook, summarize

ASSIGNMENT = "lenet5"

ATTACKS = [
    ("ipython-hooks", "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)"),
    ("ipython-hooks", "ip = get_ipython()\nip.input_transformers_post.append(lambda lines: lines)"),
    ("ipython-hooks", "get_ipython().events.register('post_run_cell', hook)"),
    ("ipython-hooks", "print(In[9])"),
    ("exit", "import os\nos._exit(0)"),
    ("exit", "from os import _exit as leave\nleave(0)"),
    ("exit", "import sys\nsys.exit(0)"),
    ("exit", "quit()"),
    ("exit", "import signal\nsignal.signal(signal.SIGALRM, handler)"),
    ("builtins", "import builtins\nbuiltins.isinstance = lambda *a: True"),
    ("builtins", "__builtins__.print = lambda *a, **k: None"),
    ("builtins", "globals = lambda: {}"),
    ("monkeypatch", "import course.grading as g\ng.check_padding = lambda *a, **k: None"),
    ("monkeypatch", "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None"),
    ("monkeypatch", "import keras\nkeras.Model.count_params = lambda self: 61706"),
    ("monkeypatch", "setattr(grading, 'check_accuracy_at_least', print)"),
    ("monkeypatch", "import sys\nsys.modules['course.grading'] = fake"),
    ("monkeypatch", "grading = FakeGrading()"),
    ("monkeypatch", "import fake_grading as grading"),
    ("monkeypatch", "grading.MIN_TEST_ACCURACY.update(autograde=0.0)"),
    ("dynamic-code", "exec(payload)"),
    ("dynamic-code", "import base64\nbase64.b64decode('aW1wb3J0IG9z')"),
    ("dynamic-code", "name = 'check_' + 'padding'\nf = getattr(grading, name)"),
    ("dynamic-code", "mod = __import__('o' + 's')"),
    ("introspection", "import sys\nframe = sys._getframe(1)"),
    ("introspection", "import inspect\ninspect.currentframe().f_back.f_globals"),
    ("introspection", "import gc\ngc.get_objects()"),
    ("processes", "import os\nos.fork()"),
    ("processes", "import subprocess\nsubprocess.run(['ls'])"),
    ("processes", "import os as o\no.execv('/bin/sh', ['sh'])"),
    ("network", "import socket\nsocket.create_connection(('example.org', 80))"),
    ("network", "from urllib.request import urlopen\nurlopen('http://example.org')"),
    ("files", "open('/work/main/source/x', 'w')"),
    ("files", "with open('answers.txt', mode='a') as handle:\n    handle.write('x')"),
    ("files", "text = open('../../source/lenet5/lenet5.ipynb').read()"),
    ("files", "import shutil\nshutil.rmtree('gradebook')"),
    ("files", "from pathlib import Path\nPath('tests.py').write_text('')"),
    ("environment", "import os\nos.environ['NBGRADER_EXECUTION'] = ''"),
    ("shell", "!rm -rf ~"),
]


@pytest.mark.parametrize("category, code", ATTACKS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(ATTACKS)])
def test_each_attack_is_flagged_in_its_category(category, code):
    found = scan_code(code)
    assert category in {c for _, c, _ in found}, found


HONEST = [
    "x = np.pad(np.asarray(x, dtype=np.float32) / 255.0, ((0, 0), (2, 2), (2, 2)))",
    "model.compile(optimizer='sgd', loss='mse')\nmodel.trainable = False",
    "signal = np.sin(t)\nprint(signal.mean())",
    "with open('notes.txt') as handle:\n    notes = handle.read()",
    "value = getattr(layer, 'activation')\nname = text.replace('a', 'b')",
    "from course import grading\nimport numpy as np",
    "x = (1\n     % 2)",
]


@pytest.mark.parametrize("code", HONEST)
def test_honest_code_is_not_flagged(code):
    assert scan_code(code) == []


def test_aliases_are_resolved():
    found = scan_code("from os import _exit as leave\nleave(0)")
    assert [(line, category) for line, category, _ in found] == [(1, "exit"), (2, "exit")]
    assert "os._exit" in found[1][2]


def test_magics_and_shell_lines_are_handled():
    assert scan_code("%timeit x\n%matplotlib inline\ny = 1") == []
    assert scan_code("!ls") == [(1, "shell", "!ls")]
    assert [c for _, c, _ in scan_code("files = !ls")] == ["shell"]
    assert [c for _, c, _ in scan_code("%timeit -n 1 os._exit(0)")] == ["exit"]
    assert [c for _, c, _ in scan_code("%%bash\nrm -rf ~")] == ["shell"]
    assert [c for _, c, _ in scan_code("%%time\nimport subprocess")] == ["processes"]


def test_a_syntax_error_gives_one_finding():
    found = scan_code("def pad_images(x:\n    return x\nos._exit(0)")
    assert len(found) == 1 and found[0][1] == "syntax"


def _locked(source: str, grade_id: str, **extra) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "locked": True, "solution": False, "grade": False, **extra}
    return cell


def _answer(source: str, grade_id: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "locked": False, "solution": True, "grade": False}
    return cell


def _notebook() -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_markdown_cell("exec(this is markdown)"),
            _locked("import numpy as np\nfrom course import data, grading", "setup"),
            _answer("def pad_images(x):\n    np.testing.assert_allclose = lambda *a: None\n    return x", "pad_images"),
            new_code_cell("x = 1\ndata = None"),
            _locked("import os\nos._exit(0)", "test_pad", grade=True),
            _answer("get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)", "train"),
        ]
    )


def test_scan_notebook_scans_unlocked_code_cells_with_the_notebook_imports():
    findings = scan_notebook(_notebook())
    assert [(f.cell, f.grade_id, f.line, f.category) for f in findings] == [
        (2, "pad_images", 2, "monkeypatch"),
        (3, None, 2, "monkeypatch"),  # rebinds `data`, which a locked cell imported from course
        (5, "train", 1, "ipython-hooks"),
    ]
    assert str(findings[2]) == "cell 5 (train), line 1: IPython internals (get_ipython().set_custom_exc)"
    assert summarize(findings) == "monkeypatch (cell 2), ipython-hooks (cell 5)"
    assert summarize([]) == ""


def test_scan_notebook_all_cells():
    findings = scan_notebook(_notebook(), cells="all")
    assert (4, "test_pad", 2, "exit") in [(f.cell, f.grade_id, f.line, f.category) for f in findings]
    with pytest.raises(ValueError):
        scan_notebook(_notebook(), cells="some")


def test_finding_str_without_grade_id():
    assert str(Finding(3, None, 2, "exit", "os._exit")) == "cell 3, line 2: exiting the kernel (os._exit)"


def _solution(course_root, **edits) -> nbformat.NotebookNode:
    release = course_root / "release" / ASSIGNMENT
    source = course_root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return nbformat.reads(
        build_notebook(Sample(student="s", base="solution", **edits), release / source.name, source), 4
    )


def test_reference_solution_has_no_finding(course_root):
    nb = _solution(course_root)
    shortcuts = assignment_shortcuts(ASSIGNMENT)
    assert "course.models.lenet5" in shortcuts  # the assignment declares its shortcuts
    assert scan_notebook(nb, shortcuts=shortcuts) == []
    assert scan_notebook(nb, cells="all", shortcuts=shortcuts) == []


@pytest.mark.parametrize(
    "grade_id, code",
    [
        ("pad_images", "def pad_images(x):\n    return data.pad_and_scale(x)"),
        ("pad_images", "from course.data import pad_and_scale as pad_images"),
        ("build_lenet5", "def build_lenet5(input_shape=(32, 32, 1), num_classes=10):\n    return models.lenet5()"),
        ("train_lenet5", "import course\nmodel = course.models.lenet5()"),
    ],
)
def test_a_library_call_where_the_task_asks_for_own_code_is_flagged(course_root, grade_id, code):
    nb = _solution(course_root, replace={grade_id: code})
    findings = scan_notebook(nb, shortcuts=assignment_shortcuts(ASSIGNMENT))
    assert {f.category for f in findings} == {"library-shortcut"} and findings[0].grade_id == grade_id
    assert "your own code" in str(findings[0])


def test_the_library_model_is_allowed_where_the_task_allows_it(course_root):
    nb = _solution(course_root)  # its train_modern cell calls models.lenet5(modern=True)
    assert "models.lenet5(modern=True)" in next(c.source for c in nb.cells if "modern_model =" in c.source)
    assert scan_notebook(nb, shortcuts=assignment_shortcuts(ASSIGNMENT)) == []
    assert assignment_shortcuts("no-such-assignment") == {}


def test_release_and_source_have_no_finding(course_root):
    for folder in ("release", "source"):
        for path in sorted((course_root / folder / ASSIGNMENT).glob("*.ipynb")):
            assert scan_notebook(nbformat.read(str(path), as_version=4), cells="all") == [], path


@pytest.mark.parametrize(
    "assignment, grade_id, code",
    [
        (
            "feature_maps",
            "tile",
            "from autograder.answer_key import feature_maps as key\n\ndef tile(images, columns, pad=1):\n"
            "    return key.tile(images, columns, pad)",
        ),
        (
            "xray",
            "focal_loss",
            "import autograder.answer_key.xray\n\ndef focal_loss(y, p, gamma=2.0, alpha=None):\n"
            "    return autograder.answer_key.xray.focal_loss(y, p, gamma)",
        ),
        ("xray", "grad_cam_map", "from autograder.answer_key.xray import grad_cam_map"),
    ],
)
def test_an_answer_that_uses_the_graders_answer_key_is_flagged(assignment, grade_id, code):
    """The answer key ships with the grader only (never in the student edition), but a kernel under
    ``course grade`` could import it: an answer cell that touches ``autograder`` is flagged for review."""
    nb = nbformat.read(
        Path(__file__).resolve().parent.parent / "release" / assignment / f"{assignment}.ipynb", as_version=4
    )
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = code
    findings = scan_notebook(nb, shortcuts=assignment_shortcuts(assignment))
    assert findings and {(f.category, f.grade_id) for f in findings} == {("grader-code", grade_id)}
