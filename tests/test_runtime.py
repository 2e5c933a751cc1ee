"""course.runtime: the three run modes and the one way every notebook picks its settings."""

from __future__ import annotations

import pytest

from course import runtime

FULL = {"epochs": 8, "train_samples": None, "test_samples": None}
SMOKE = {"epochs": 1, "train_samples": 1000, "test_samples": 500}


@pytest.fixture(autouse=True)
def full_mode(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_SMOKE", raising=False)


def test_full_mode_keeps_the_parameters_cell(capsys):
    run = runtime.settings(False, full=FULL, smoke=SMOKE)
    assert (run.mode, run.epochs, run.train_samples, run["test_samples"]) == ("full", 8, None, None)
    assert run.replaced == ()
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0].startswith("Run mode: full")
        and out[1] == "Settings: epochs = 8, train_samples = None, test_samples = None"
    )


@pytest.mark.parametrize("how", ["parameter", "environment"])
def test_smoke_mode_replaces_the_values_it_names(monkeypatch, capsys, how):
    if how == "environment":
        monkeypatch.setenv("COURSE_SMOKE", "1")
    run = runtime.settings(how == "parameter", full=dict(FULL, seed=3), smoke=SMOKE)
    assert (run.mode, run.epochs, run.train_samples, run.seed) == ("smoke", 1, 1000, 3)
    assert set(run.replaced) == {"epochs", "train_samples", "test_samples"}
    assert "set by the smoke mode" in capsys.readouterr().out


def test_autograde_mode_uses_its_own_values_or_else_the_smoke_ones(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert runtime.settings(True, full=FULL, smoke=SMOKE, autograde={"epochs": 3}, quiet=True).epochs == 3
    assert runtime.settings(False, full=FULL, smoke=SMOKE, quiet=True).train_samples == 1000


def test_a_mode_cannot_name_a_setting_the_full_mode_lacks():
    with pytest.raises(KeyError, match="epoch"):
        runtime.settings(True, full=FULL, smoke={"epoch": 1}, quiet=True)


def test_an_unknown_setting_is_an_attribute_error():
    run = runtime.settings(False, full=FULL, quiet=True)
    with pytest.raises(AttributeError, match="no setting 'batch_size'"):
        _ = run.batch_size


def test_env_flags():
    assert not runtime.is_smoke(False)
    assert runtime.is_smoke(True)


def test_a_gpu_gets_the_paper_sized_settings_in_full_mode_only(monkeypatch, capsys):
    monkeypatch.setattr(runtime, "has_gpu", lambda: True)
    run = runtime.settings(False, full=FULL, smoke=SMOKE, gpu={"epochs": 90})
    assert (run.mode, run.epochs, run.train_samples) == ("full (GPU)", 90, None)
    assert "paper-sized" in capsys.readouterr().out
    assert runtime.settings(True, full=FULL, smoke=SMOKE, gpu={"epochs": 90}, quiet=True).epochs == 1
    monkeypatch.setattr(runtime, "has_gpu", lambda: False)
    assert runtime.settings(False, full=FULL, gpu={"epochs": 90}, quiet=True).epochs == 8
