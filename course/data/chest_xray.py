"""Chest X-rays in three classes (normal, pneumonia, COVID-19) and patient-wise splits: :func:`load_chest_xray`.

The X-ray case study uses them: the lecture ``notebooks/10_xray_case_study.ipynb``
and the assignment ``source/xray/``. Sources, in order:

1. a file you built: the ``path`` argument, or else ``$COURSE_XRAY_FILE``, an
   ``.npz`` in the kit's layout (below), e.g. a larger set made with internet
   access. A ``path`` that does not exist is an error; for a
   ``COURSE_XRAY_FILE`` that does not exist the kit is tried next (as for a
   missing ``COURSE_DATA_DIR``), and the report line says which was used;
2. the offline kit's ``chest_xray/cxr3-128.npz``: 1,015 images of 773 patients,
   a small subset of the two public sets it comes from.

There is no download: no single public file holds these images in this layout.

Layout (``np.load`` without pickle): ``images`` uint8 ``(n, s, s)`` grayscale
(the kit: 128x128), ``labels`` (0 normal, 1 pneumonia, 2 COVID-19),
``subtype`` (``normal``, ``bacterial``, ``viral`` or ``covid19``), ``split``
(the source's ``train``/``test``), ``filename`` and ``patient_id``.

Caveat the case study teaches: the normal and pneumonia images are children
from one hospital (Kermany et al. 2018), the COVID-19 images adults from many
hospitals and publications (Cohen et al. 2020). A model can learn the source
instead of the disease (DeGrave et al. 2021).

Images of one patient are alike, so a patient in both training and test data
inflates the test score. :func:`patient_split` and :func:`patient_folds` keep
each patient in one part, stratified by class; :func:`check_no_leak` checks a
split. (The source's own train/test split, ``ChestXrays.source_split``, puts
60 of the kit's pneumonia patients in both.)
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .sources import CorruptDatasetError, DataSource, _cached, _file_key, _kit_file, _read_local, _remember, _Search

CHEST_XRAY_CLASSES = ("normal", "pneumonia", "COVID-19")
XRAY_KIT_FILE = "chest_xray/cxr3-128.npz"
XRAY_FILE_ENV = "COURSE_XRAY_FILE"
XRAY_KEYS = ("images", "labels", "subtype", "split", "filename", "patient_id")
SUBTYPE_LABELS = {"normal": 0, "bacterial": 1, "viral": 1, "covid19": 2}


@dataclass(frozen=True)
class ChestXrays:
    """The X-rays: uint8 ``images`` (n, s, s), uint8 ``labels`` (n,), and per image its ``subtypes``
    (``"bacterial"``...), ``patient_ids``, ``filenames`` and ``source_split`` (the source's
    ``"train"``/``"test"``), all numpy arrays; and ``class_names``."""

    images: np.ndarray
    labels: np.ndarray
    subtypes: np.ndarray
    patient_ids: np.ndarray
    filenames: np.ndarray
    source_split: np.ndarray
    class_names: tuple[str, ...] = CHEST_XRAY_CLASSES

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self, parts: Mapping[str, np.ndarray] | None = None) -> dict[str, list[int]]:
        """Images per class in each part: ``parts`` maps names to indices (e.g. :func:`patient_split`'s);
        without it, the source's split: ``{"train": [240, 480, 38], "test": [80, 160, 17]}`` for the kit."""
        if parts is None:
            names = sorted(set(self.source_split.tolist()), key=lambda name: (name != "train", name != "val", name))
            parts = {name: np.flatnonzero(self.source_split == name) for name in names}
        n = len(self.class_names)
        return {name: np.bincount(self.labels[indices], minlength=n).tolist() for name, indices in parts.items()}


def load_chest_xray(path: str | os.PathLike | None = None) -> ChestXrays:
    """The chest X-rays from ``path``, ``$COURSE_XRAY_FILE`` or the offline kit (see the module docstring).

    Prints one line saying where they came from, how many there are per class,
    and the source caveat. Every call returns fresh copies.
    """
    search = _Search("The chest X-rays")
    found = _from_file(search, path) or (None if path is not None else _from_kit(search))
    if found is None:
        keys = ", ".join(XRAY_KEYS)
        raise search.not_found(
            [
                f"point COURSE_DATA_DIR at the course's offline data kit (the folder that holds {XRAY_KIT_FILE}), "
                "e.g. export COURSE_DATA_DIR=/path/to/shared/data",
                f"set {XRAY_FILE_ENV} (or pass path=) to an .npz in the kit's layout, with the keys {keys} "
                "(see course.data.chest_xray)",
                "there is no download: no single public file holds these images in this layout",
            ]
        )
    source, arrays = found
    _remember("chest_xray", source)
    return ChestXrays(*(a.copy() for a in arrays))


def _patient_labels(labels, patient_ids) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(patients, their index per image, their label, their image count). A patient's label is the
    most severe (highest) label of their images, so a patient with pneumonia and COVID-19 images counts
    as COVID-19."""
    labels, patient_ids = np.asarray(labels), np.asarray(patient_ids)
    if labels.shape != patient_ids.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and patient_ids {patient_ids.shape} must be 1-D and the same length.")
    patients, inverse, sizes = np.unique(patient_ids, return_inverse=True, return_counts=True)
    label = np.zeros(len(patients), dtype=labels.dtype)
    np.maximum.at(label, inverse, labels)
    return patients, inverse, label, sizes


def patient_split(
    labels, patient_ids, test_fraction: float = 0.2, val_fraction: float = 0.2, seed: int = 0
) -> dict[str, np.ndarray]:
    """Indices (sorted) of ``"train"``, ``"val"`` and ``"test"`` parts with no patient in two parts.

    Each patient gets the most severe label of their images. Within each class,
    the patients (sorted, then shuffled with ``seed``) are cut where the image
    counts come closest to ``test_fraction`` and ``val_fraction`` of the class's
    images, so every class is in every part if it has three patients or more.
    The fractions are of images, met as closely as whole patients allow.
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            f"val_fraction and test_fraction must be in [0, 1) and leave images to train on; "
            f"got {val_fraction} and {test_fraction}."
        )
    _, inverse, label, sizes = _patient_labels(labels, patient_ids)
    rng = np.random.default_rng(seed)
    part = np.zeros(len(sizes), dtype=int)  # 0 train, 1 val, 2 test
    for cls in np.unique(label):
        members = rng.permutation(np.flatnonzero(label == cls))
        edges = np.concatenate([[0], np.cumsum(sizes[members])])

        def cut(fraction: float, low: int, high: int, edges=edges) -> int:
            return min(max(int(np.abs(edges - fraction * edges[-1]).argmin()), low), high)

        n, spread = len(members), len(members) >= 3  # enough patients to put the class in every part
        n_test = cut(test_fraction, int(spread and test_fraction > 0), n - 2 * spread)
        n_test_val = cut(test_fraction + val_fraction, n_test + int(spread and val_fraction > 0), n - spread)
        part[members[:n_test]] = 2
        part[members[n_test:n_test_val]] = 1
    per_image = part[inverse]
    return {name: np.flatnonzero(per_image == i) for i, name in enumerate(("train", "val", "test"))}


def patient_folds(labels, patient_ids, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train indices, test indices) pairs: scikit-learn's ``StratifiedGroupKFold`` with the patients
    as groups (shuffled with ``seed``), stratified by each patient's most severe label. Every image is in
    exactly one test part, and no patient is in a fold's train and test parts."""
    from sklearn.model_selection import StratifiedGroupKFold

    _, inverse, label, _ = _patient_labels(labels, patient_ids)
    folds = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(train, test) for train, test in folds.split(np.zeros(len(inverse)), label[inverse], groups=inverse)]


def check_no_leak(parts: Mapping[str, np.ndarray] | Sequence[np.ndarray], patient_ids) -> None:
    """Raise ``ValueError`` naming a patient whose images are in two of ``parts`` (names to indices, as
    :func:`patient_split` returns, or a sequence of index arrays, e.g. one fold's ``(train, test)``)."""
    if not isinstance(parts, Mapping):
        parts = {f"part {i}": indices for i, indices in enumerate(parts)}
    patient_ids = np.asarray(patient_ids)
    seen: dict[str, str] = {}
    for name, indices in parts.items():
        for patient in dict.fromkeys(patient_ids[np.asarray(indices, dtype=int)].tolist()):
            if seen.setdefault(patient, name) != name:
                raise ValueError(
                    f"patient {patient!r} has images in both {seen[patient]!r} and {name!r}: "
                    "each patient must be in one part only, or the test score measures memory of that patient."
                )


# --------------------------------------------------------------------------- reading and checking files


def _strings(path, arrays, key: str, n: int) -> np.ndarray:
    values = arrays[key]
    if values.ndim != 1 or values.dtype.kind not in "US":
        raise CorruptDatasetError(f"{path}: {key!r} is {values.dtype} {values.shape}, expected strings ({n},).")
    return values.astype(str)


def _check(path, arrays: dict) -> tuple:
    missing = [key for key in XRAY_KEYS if key not in arrays]
    if missing:
        raise CorruptDatasetError(f"{path}: keys {missing} are missing; an X-ray file has {list(XRAY_KEYS)}.")
    images, labels = arrays["images"], arrays["labels"]
    if images.ndim != 3 or images.shape[1] != images.shape[2] or images.dtype != np.uint8 or not len(images):
        raise CorruptDatasetError(
            f"{path}: images are {images.dtype} {images.shape}, expected grayscale uint8 (n, s, s), n > 0."
        )
    lengths = {key: len(arrays[key]) if arrays[key].ndim else 0 for key in XRAY_KEYS}
    if len(set(lengths.values())) > 1:
        raise CorruptDatasetError(f"{path}: the arrays' lengths differ ({lengths}): they must match.")
    n = len(images)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise CorruptDatasetError(f"{path}: labels are {labels.dtype} {labels.shape}, expected integers 0 to 2.")
    if labels.min() < 0 or labels.max() > 2:
        raise CorruptDatasetError(f"{path}: labels run from {labels.min()} to {labels.max()}, expected 0 to 2.")
    subtypes, split, filenames, patients = (_strings(path, arrays, key, n) for key in XRAY_KEYS[2:])
    for i, (label, subtype) in enumerate(zip(labels.tolist(), subtypes.tolist(), strict=True)):
        if SUBTYPE_LABELS.get(subtype) != label:
            raise CorruptDatasetError(
                f"{path}: image {i} ({filenames[i]}) has subtype {subtype!r} and label {label} "
                f"({CHEST_XRAY_CLASSES[label]}); subtypes are {SUBTYPE_LABELS}."
            )
    empty = np.flatnonzero(np.char.strip(patients) == "")
    if len(empty):
        raise CorruptDatasetError(f"{path}: {len(empty)} images have no patient_id (the first: image {empty[0]}).")
    return images, labels.astype(np.uint8), subtypes, patients, filenames, split


def _read(path: Path) -> tuple:
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                arrays = {key: loaded[key] for key in loaded.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise CorruptDatasetError(f"{path}: not a readable .npz file ({type(e).__name__}: {e}).") from e
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise CorruptDatasetError(f"{path}: holds one array, expected an .npz with {list(XRAY_KEYS)}.")
    return _check(path, arrays)


def _report(origin: str, where: str, path: Path, arrays: tuple) -> DataSource:
    images, labels, _, patients, _, split = arrays
    counts = np.bincount(labels, minlength=3).tolist()
    per_class = ", ".join(f"{name} {n:,}" for name, n in zip(CHEST_XRAY_CLASSES, counts, strict=True))
    size = "a small subset of the public sets" if origin == "kit" else "your own set"
    note = (
        f"Chest X-rays: {where}: {len(labels):,} images of {len(set(patients.tolist())):,} patients "
        f"({per_class}), {images.shape[1]}x{images.shape[2]} grayscale, {size}. Caveat: the COVID-19 images "
        "come from another population and other hospitals, so a model can learn the source, not the disease."
    )
    n_train, n_test = int((split == "train").sum()), int((split == "test").sum())
    return DataSource("Chest X-rays", origin, str(path), n_train, n_test, origin == "kit", note)


def _from_file(search: _Search, path):
    """The file from ``path`` or ``$COURSE_XRAY_FILE`` (origin ``"file"``), or None."""
    where = "path argument" if path is not None else f"${XRAY_FILE_ENV}"
    raw = path if path is not None else os.environ.get(XRAY_FILE_ENV, "").strip()
    if not raw:
        search.miss(where, "not set")
        return None
    file = Path(raw).expanduser()
    if not file.is_file():
        search.miss(f"{where} {file}", "file missing")
        return None
    try:
        arrays = _cached(("chest_xray",) + _file_key([file]), lambda: _read(file))
    except CorruptDatasetError as e:
        raise CorruptDatasetError(
            f"{e} This file was named by the {where}: rebuild it in the layout course.data.chest_xray "
            f"describes, or {'pass another path' if path is not None else f'unset {XRAY_FILE_ENV}'}."
        ) from e.__cause__
    return _report("file", f"{where} ({file})", file, arrays), arrays


def _from_kit(search: _Search):
    path = _kit_file(search, XRAY_KIT_FILE)
    if path is None:
        return None
    arrays = _read_local(("chest_xray",) + _file_key([path]), lambda: _read(path), "kit")
    return _report("kit", f"offline kit ({path})", path, arrays), arrays
