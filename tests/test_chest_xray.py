"""course.data.chest_xray: load_chest_xray (the kit's X-rays or a file of your own), corrupt and missing
files, and the patient-wise splits (patient_split, patient_folds, check_no_leak).

As in test_data.py: HOME and KERAS_HOME are temporary, no kit unless a test sets one, COURSE_OFFLINE=1 and
the network fails the test if used. The real-kit tests use $COURSE_DATA_DIR (else ../shared/data, as the
Makefile sets it) and are skipped without the kit.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, isolate_data

import course.data as data

REAL_KIT = Path(os.environ.get("COURSE_DATA_DIR") or ROOT.parent / "shared" / "data")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    isolate_data(monkeypatch, tmp_path)
    monkeypatch.delenv("COURSE_XRAY_FILE", raising=False)
    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture
def real_kit(monkeypatch):
    if not (REAL_KIT / "chest_xray" / "cxr3-128.npz").is_file():
        pytest.skip("needs the offline data kit with chest_xray/cxr3-128.npz (COURSE_DATA_DIR)")
    monkeypatch.setenv("COURSE_DATA_DIR", str(REAL_KIT))


@pytest.fixture(scope="module")
def xrays():
    """The kit's X-rays, loaded once for the split tests (None without the kit)."""
    path = REAL_KIT / "chest_xray" / "cxr3-128.npz"
    return data.load_chest_xray(path) if path.is_file() else None


def _real(xrays):
    if xrays is None:
        pytest.skip("needs the offline data kit with chest_xray/cxr3-128.npz (COURSE_DATA_DIR)")
    return xrays


# -- a small file in the kit's layout -----------------------------------------------------------------


def xray_arrays(per_class: int = 6, size: int = 16) -> dict[str, np.ndarray]:
    """``per_class`` patients per class, two images each; pneumonia alternates bacterial and viral."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 2 * per_class).astype(np.uint8)
    patients = np.array([f"{cls}-{i // 2}" for cls in range(3) for i in range(2 * per_class)])
    names = (("normal",), ("bacterial", "viral"), ("covid19",))
    subtypes = np.array([names[label][i % len(names[label])] for i, label in enumerate(labels)])
    return {
        "images": rng.integers(0, 256, size=(len(labels), size, size), dtype=np.uint8),
        "labels": labels,
        "subtype": subtypes,
        "split": np.array(["train", "test"] * per_class * 3),
        "filename": np.array([f"{patient}_{i}.png" for i, patient in enumerate(patients)]),
        "patient_id": patients,
    }


def write_xrays(path: Path, **changes) -> Path:
    arrays = xray_arrays()
    arrays.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


# -- the real kit -------------------------------------------------------------------------------------


def test_real_kit_counts_report_and_fresh_copies(real_kit, capsys):
    xrays = data.load_chest_xray()
    assert xrays.images.shape == (1015, 128, 128) and xrays.images.dtype == xrays.labels.dtype == np.uint8
    assert xrays.counts() == {"train": [240, 480, 38], "test": [80, 160, 17]}  # the kit README's counts
    assert len(set(xrays.patient_ids.tolist())) == 773 and xrays.class_names == ("normal", "pneumonia", "COVID-19")
    assert set(xrays.subtypes[xrays.labels == 1].tolist()) == {"bacterial", "viral"}
    report = capsys.readouterr().out
    assert report.count("\n") == 1 and report.startswith("Chest X-rays: offline kit")
    for text in ("1,015 images of 773 patients", "normal 320, pneumonia 640, COVID-19 55", "subset", "hospitals"):
        assert text in report
    source = data.source_info("chest_xray")
    assert (source.origin, source.n_train, source.n_test, source.is_subset) == ("kit", 758, 257, True)
    xrays.images[:] = 0  # a caller's edit does not reach the next load, and the report is not printed again
    assert data.load_chest_xray().images.any() and capsys.readouterr().out == ""


def test_real_patient_split_keeps_patients_apart_and_classes_balanced(xrays):
    xrays = _real(xrays)
    parts = data.patient_split(xrays.labels, xrays.patient_ids)
    assert list(parts) == ["train", "val", "test"]
    assert all(np.array_equal(indices, np.sort(indices)) for indices in parts.values())
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(len(xrays)))
    data.check_no_leak(parts, xrays.patient_ids)
    patients = [set(xrays.patient_ids[indices].tolist()) for indices in parts.values()]
    assert not (patients[0] & patients[1] or patients[0] & patients[2] or patients[1] & patients[2])
    counts = xrays.counts(parts)
    assert all(min(per_class) > 0 for per_class in counts.values()), counts  # every class in every part
    for name, fraction in (("train", 0.6), ("val", 0.2), ("test", 0.2)):
        assert abs(len(parts[name]) / len(xrays) - fraction) < 0.02, (name, len(parts[name]))
    again = data.patient_split(xrays.labels, xrays.patient_ids)
    assert all(np.array_equal(parts[name], again[name]) for name in parts)  # deterministic for a seed
    other = data.patient_split(xrays.labels, xrays.patient_ids, seed=1)
    assert not np.array_equal(parts["test"], other["test"])
    with pytest.raises(ValueError, match="fraction"):
        data.patient_split(xrays.labels, xrays.patient_ids, test_fraction=0.5, val_fraction=0.5)


def test_real_patient_folds_cover_every_image_once(xrays):
    xrays = _real(xrays)
    folds = data.patient_folds(xrays.labels, xrays.patient_ids, k=5)
    assert len(folds) == 5
    tests = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tests), np.arange(len(xrays)))  # every index a test index exactly once
    for train, test in folds:
        assert len(train) + len(test) == len(xrays)
        data.check_no_leak({"train": train, "test": test}, xrays.patient_ids)
        assert min(np.bincount(xrays.labels[test], minlength=3)) > 0
    again = data.patient_folds(xrays.labels, xrays.patient_ids, k=5)
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(folds, again, strict=True))


def test_the_sources_own_split_shares_patients(xrays):
    """What the lecture shows: the source's train/test split puts some patients in both halves."""
    xrays = _real(xrays)
    halves = {name: np.flatnonzero(xrays.source_split == name) for name in ("train", "test")}
    with pytest.raises(ValueError, match=r"patient '.+' has images in both 'train' and 'test'"):
        data.check_no_leak(halves, xrays.patient_ids)


# -- splits on constructed labels ---------------------------------------------------------------------


def test_check_no_leak_names_the_patient():
    patients = np.array(["a", "a", "b", "c"])
    data.check_no_leak({"train": [0, 1, 2], "test": [3]}, patients)
    data.check_no_leak(([0, 1], [2, 3]), patients)
    with pytest.raises(ValueError, match="patient 'a' has images in both 'train' and 'test'"):
        data.check_no_leak({"train": [0, 2], "val": [3], "test": [1]}, patients)
    with pytest.raises(ValueError, match="patient 'a' has images in both 'part 0' and 'part 1'"):
        data.check_no_leak(([0], [1, 2, 3]), patients)


def test_a_patient_with_two_classes_counts_as_the_most_severe_and_stays_in_one_part():
    arrays = xray_arrays(per_class=10)
    labels, patients = arrays["labels"].copy(), arrays["patient_id"]
    labels[np.flatnonzero(patients == "2-0")[0]] = 1  # patient 2-0: one pneumonia, one COVID-19 image
    _, _, patient_label, _ = data.chest_xray._patient_labels(labels, patients)
    assert patient_label.tolist().count(2) == 10
    for seed in range(5):
        parts = data.patient_split(labels, patients, seed=seed)
        data.check_no_leak(parts, patients)
        for _, test in data.patient_folds(labels, patients, k=3, seed=seed):
            assert (patients[test] == "2-0").sum() in (0, 2)


# -- files of your own, corrupt and missing files ------------------------------------------------------


def test_a_file_of_your_own_from_the_environment_or_a_path(monkeypatch, tmp_path, capsys):
    env_file = write_xrays(tmp_path / "big.npz", images=np.zeros((36, 32, 32), dtype=np.uint8))
    monkeypatch.setenv("COURSE_XRAY_FILE", str(env_file))
    xrays = data.load_chest_xray()
    assert xrays.images.shape == (36, 32, 32) and xrays.counts() == {"train": [6, 6, 6], "test": [6, 6, 6]}
    assert capsys.readouterr().out.startswith(f"Chest X-rays: $COURSE_XRAY_FILE ({env_file}): 36 images of 18")
    assert data.source_info("chest_xray").origin == "file" and not data.source_info("chest_xray").is_subset
    path_file = write_xrays(tmp_path / "other.npz")
    assert data.load_chest_xray(path_file).images.shape == (36, 16, 16)  # the argument comes first
    assert data.source_info("chest_xray").path == str(path_file)


def test_a_missing_environment_file_falls_back_to_the_kit(monkeypatch, tmp_path):
    write_xrays(tmp_path / "kit" / "chest_xray" / "cxr3-128.npz")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    monkeypatch.setenv("COURSE_XRAY_FILE", str(tmp_path / "gone.npz"))
    assert len(data.load_chest_xray()) == 36 and data.source_info("chest_xray").origin == "kit"


@pytest.mark.parametrize(
    "damage, problem",
    [
        ("dtype", "float32"),
        ("rgb", r"\(36, 16, 16, 3\)"),
        ("lengths", "lengths differ"),
        ("label range", "from 0 to 3"),
        ("subtype", "subtype 'viral' and label 0"),
        ("patient", "no patient_id"),
        ("missing key", r"\['patient_id'\] are missing"),
        ("pickled strings", "not a readable .npz"),
        ("not npz", "not a readable .npz"),
        ("npy", "holds one array"),
    ],
)
def test_a_corrupt_file_is_refused_naming_the_file(tmp_path, damage, problem):
    path = tmp_path / "xrays.npz"
    arrays = xray_arrays()
    if damage == "dtype":
        write_xrays(path, images=arrays["images"].astype(np.float32))
    elif damage == "rgb":
        write_xrays(path, images=np.repeat(arrays["images"][..., None], 3, axis=-1))
    elif damage == "lengths":
        write_xrays(path, filename=arrays["filename"][:-1])
    elif damage == "label range":
        write_xrays(path, labels=np.where(arrays["labels"] == 2, 3, arrays["labels"]).astype(np.uint8))
    elif damage == "subtype":
        write_xrays(path, subtype=np.where(arrays["labels"] == 0, "viral", arrays["subtype"]))
    elif damage == "patient":
        write_xrays(path, patient_id=np.where(arrays["labels"] == 1, " ", arrays["patient_id"]))
    elif damage == "missing key":
        write_xrays(path, patient_id=None)
    elif damage == "pickled strings":
        write_xrays(path, filename=arrays["filename"].astype(object))  # loads only with pickle: refused
    elif damage == "not npz":
        path.write_text("images,labels\n", encoding="utf-8")
    else:
        path = tmp_path / "xrays.npy"
        np.save(path, arrays["images"])
    with pytest.raises(data.CorruptDatasetError, match=re.escape(str(path))) as error:
        data.load_chest_xray(path)
    assert re.search(problem, str(error.value)), str(error.value)
    assert "pass another path" in str(error.value)


def test_a_corrupt_kit_file_is_refused_not_skipped(monkeypatch, tmp_path):
    path = write_xrays(tmp_path / "kit" / "chest_xray" / "cxr3-128.npz", labels=np.zeros(36, dtype=np.float64))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    with pytest.raises(data.CorruptDatasetError, match=re.escape(str(path))) as error:
        data.load_chest_xray()
    assert "expected integers 0 to 2" in str(error.value) and "COURSE_DATA_DIR" in str(error.value)


def test_missing_data_names_the_places_and_the_fixes(monkeypatch, tmp_path):
    (tmp_path / "kit").mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.load_chest_xray()
    message = str(error.value)
    assert message.startswith("The chest X-rays was not found")
    assert "$COURSE_XRAY_FILE: not set" in message
    assert f"{tmp_path / 'kit' / 'chest_xray' / 'cxr3-128.npz'}: file missing" in message
    assert "How to fix it" in message and "COURSE_DATA_DIR" in message and "there is no download" in message
    assert "images, labels, subtype, split, filename, patient_id" in message


def test_a_missing_path_argument_is_an_error_even_with_a_kit(monkeypatch, tmp_path):
    write_xrays(tmp_path / "kit" / "chest_xray" / "cxr3-128.npz")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "kit"))
    with pytest.raises(data.DatasetNotFoundError, match=re.escape(f"{tmp_path / 'gone.npz'}: file missing")):
        data.load_chest_xray(tmp_path / "gone.npz")
