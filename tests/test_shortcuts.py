"""course.shortcuts: the border-only audit finds a class that is written in the border, finds nothing
in noise, and finds the acquisition shortcut in the kit's chest X-rays."""

import os
from pathlib import Path

import numpy as np
import pytest

from course import shortcuts

ROOT = Path(__file__).resolve().parents[1]


def _images(n=240, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(60, 200, size=(n, size, size)).astype(np.uint8)


def test_the_border_mask_is_a_frame_of_the_given_width():
    mask = shortcuts.border_mask(8, 2)
    assert mask.sum() == 64 - 16  # all but the 4x4 centre
    assert not mask[2:6, 2:6].any() and mask[0].all() and mask[:, -1].all()
    with pytest.raises(ValueError, match="does not fit"):
        shortcuts.border_mask(8, 4)


def test_border_only_keeps_the_frame_and_hides_the_centre():
    images = _images(n=3)
    masked = shortcuts.border_only(images, width=4)
    mask = shortcuts.border_mask(32, 4)
    assert masked.dtype == np.uint8 and masked.shape == images.shape
    np.testing.assert_array_equal(masked[:, mask], images[:, mask])
    for image in masked:
        assert np.unique(image[~mask]).size == 1  # one fill value inside


def test_border_pixels_average_blocks_of_the_frame_only():
    images = np.zeros((1, 16, 16), np.uint8)
    images[0, 8, 8] = 255  # the centre: not in a 4-pixel border
    assert not shortcuts.border_pixels(images, width=4, pool=2).any()
    images[0, 0, 0] = 255  # a corner pixel: a quarter of its 2x2 block
    features = shortcuts.border_pixels(images, width=4, pool=2)
    assert features.shape == (1, 64 - 16) and features.max() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="must divide"):
        shortcuts.border_pixels(images, width=3, pool=2)


def test_the_audit_finds_a_class_written_in_the_border_and_nothing_in_noise():
    images = _images()
    patients = np.arange(len(images)) // 2  # two images per patient, of one class
    labels = patients % 3
    noise = shortcuts.shortcut_audit(shortcuts.border_pixels(images, 4, 2), labels, patients)
    assert noise.probabilities.shape == (len(images), 3)
    assert abs(noise.auc["macro"] - 0.5) < 0.12
    marked = images.copy()
    marked[labels == 2, :2, :2] = 255  # class 2's scanner stamps a corner
    audit = shortcuts.shortcut_audit(shortcuts.border_pixels(marked, 4, 2), labels, patients)
    assert audit.auc[2] > 0.95 and audit.auc[2] - noise.auc[2] > 0.3


def test_the_kit_xrays_carry_their_source_in_the_border():
    from course.data import load_chest_xray

    kit = Path(os.environ.get("COURSE_DATA_DIR") or ROOT.parent / "shared" / "data") / "chest_xray" / "cxr3-128.npz"
    if not kit.is_file():
        pytest.skip("needs the offline data kit with chest_xray/cxr3-128.npz (COURSE_DATA_DIR)")
    xrays = load_chest_xray(kit)
    audit = shortcuts.shortcut_audit(shortcuts.border_pixels(xrays.images), xrays.labels, xrays.patient_ids)
    # No lung inside 8 pixels of the edge, yet COVID-19 (the other hospitals) is found almost perfectly.
    assert audit.auc[2] > 0.9 and audit.auc["macro"] > 0.85
