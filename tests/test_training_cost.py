"""course.training_cost: one VGG16 training step measured in a child process (lecture 04, section 2)."""

from __future__ import annotations

import os

import pytest

from course import training_cost

REAL_KIT = bool(os.environ.get("COURSE_DATA_DIR"))


def test_an_unknown_stage_is_refused_before_any_process_starts():
    with pytest.raises(ValueError, match="stages are feature extraction"):
        training_cost.measure("fine-tune block 9")


@pytest.mark.slow
def test_the_stages_train_what_they_say_and_training_adds_memory():
    if not REAL_KIT:
        pytest.skip("needs the offline data kit (COURSE_DATA_DIR) for VGG16's weights")
    frozen = training_cost.measure("feature extraction", image_size=32, batch_size=4, steps=1)
    block5 = training_cost.measure("fine-tune block 5", image_size=32, batch_size=4, steps=1)
    head = 512 * 256 + 256 + 256 * 5 + 5
    assert frozen.trainable == head and frozen.total == 14_714_688 + head
    assert block5.trainable == 7_079_424 + head
    assert block5.optimizer_mb == pytest.approx(12 * block5.trainable / 2**20)
    assert block5.inference_mb >= block5.model_mb > 100 and block5.training_mb > block5.model_mb
    assert frozen.seconds_per_step > 0
    row = training_cost.as_row(block5, 10)
    assert row["trainable parameters"] == block5.trainable
    assert row["s per epoch (10 photos)"] == pytest.approx(round(block5.seconds_per_step * 3, 1))


def test_a_failing_child_is_reported_with_its_last_lines(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", "/nonexistent-kit")
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", "/nonexistent-keras-home")
    with pytest.raises(RuntimeError, match="(?s)measuring 'feature extraction' failed.*VGG16"):
        training_cost.measure("feature extraction", image_size=32, batch_size=2, steps=1)
