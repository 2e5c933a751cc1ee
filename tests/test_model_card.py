"""course.model_card: every measured number appears in the card, formatted one way; the fixed sections; errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from course import clinical
from course.model_card import ModelCard, model_card
from course.shortcuts import ShortcutAudit

CLASSES = ["normal", "pneumonia", "COVID-19"]
# Rows are true classes, columns predictions; 155 test cases, 13 of them COVID-19.
CONFUSION = np.array([[40, 5, 1], [4, 90, 2], [0, 1, 12]])
SHA = "0123456789abcdef" * 4


def _metrics() -> pd.DataFrame:
    return clinical.per_class_metrics(CONFUSION, CLASSES)


def _inputs(**changes) -> dict:
    metrics = _metrics()
    inputs = {
        "name": "xray-cnn",
        "version": "xray-2027-01-15",
        "sha256": SHA,
        "data": {
            "images": 1015,
            "patients": 773,
            "per class": {"normal": 234, "pneumonia": 500, "COVID-19": 281},
            "split": "patient-wise 60/20/20",
            "source": "Kermany et al. 2018; Cohen et al. 2020",
            "population": "normal and pneumonia: children from one hospital; COVID-19: adults from many",
        },
        "metrics": metrics,
        "auc": pd.Series([0.9512, 0.9337, 0.9871, 0.9573], index=[*CLASSES, "macro"], name="AUC"),
        "operating_point": clinical.OperatingPoint(0.31254, 0.9231, 0.9716),
        "positive_class": "COVID-19",
        "intervals": {
            "COVID-19 sensitivity": clinical.Interval(metrics.at["COVID-19", "sensitivity"], 0.8462, 1.0),
            "pneumonia specificity": clinical.Interval(metrics.at["pneumonia", "specificity"], 0.8441, 0.9487),
            "macro AUC": clinical.Interval(0.9573, 0.9301, 0.9802),
            "balanced accuracy": clinical.Interval(0.8772, 0.8403, 0.9155),
        },
        "shortcut": ShortcutAudit(
            probabilities=np.full((155, 3), 1 / 3),
            auc=pd.Series([0.8123, 0.7745, 0.9688, 0.8519], index=[*CLASSES, "macro"], name="AUC"),
            balanced_accuracy=0.7112,
        ),
        "failure_modes": ["Lateral views were never seen in training."],
        "timings": {"training on 2 CPU cores (s)": 312.4, "inference per image (ms)": 4.137},
    }
    inputs.update(changes)
    return inputs


def test_every_measured_number_appears_formatted():
    inputs = _inputs()
    card = model_card(**inputs)
    text = card.markdown
    metrics = inputs["metrics"]
    for cls in CLASSES:
        for column in ("sensitivity", "specificity", "precision", "f1"):
            assert f"{metrics.at[cls, column]:.3f}" in text, (cls, column)
        assert f"| {metrics.at[cls, 'support']} |" in text
    assert f"{metrics.attrs['accuracy']:.3f}" in text
    for value in inputs["auc"]:
        assert f"{value:.3f}" in text
    for value in inputs["shortcut"].auc:
        assert f"{value:.3f}" in text
    assert "0.711" in text  # the audit's balanced accuracy
    for interval in inputs["intervals"].values():  # point (low–high), three decimals each
        assert f"{interval.point:.3f} ({interval.low:.3f}–{interval.high:.3f})" in text
    covid = inputs["intervals"]["COVID-19 sensitivity"]
    assert f"| COVID-19 | {covid.point:.3f} ({covid.low:.3f}–{covid.high:.3f}) |" in text  # in its table cell
    assert f"{covid.high - covid.low:.3f} wide" in text  # the smallest class's interval width
    assert "Only 13 COVID-19 cases" in text
    point = inputs["operating_point"]
    assert "0.3125" in text and "0.923" in text and "0.972" in text
    assert f"{100 * (1 - point.specificity):.1f}" in text  # false alarms per 100 negatives: 2.8
    assert f"{100 * (1 - point.sensitivity):.1f}" in text  # missed per 100 cases: 7.7
    assert "chosen on the validation data" in text
    for fragment in ("1,015", "773", "normal 234, pneumonia 500, COVID-19 281", "patient-wise 60/20/20"):
        assert fragment in text
    assert inputs["data"]["population"] in text and inputs["failure_modes"][0] in text
    assert "312.4" in text and "4.137" in text
    assert SHA[:12] in text and SHA not in text
    assert "xray-2027-01-15" in text


def test_the_fixed_sections_and_the_warning():
    text = model_card(**_inputs()).markdown
    assert text.startswith("# Model card: xray-cnn")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Intended use",
        "## Data",
        "## Metrics",
        "## Operating point",
        "## Known failure modes",
        "## Human review",
        "## Version",
    ]
    assert "**Not for clinical use.**" in text
    assert "not a diagnosis" in text and "qualified human" in text


def test_the_shortcut_section_appears_iff_an_audit_is_given():
    with_audit = model_card(**_inputs()).markdown
    without = model_card(**_inputs(shortcut=None)).markdown
    assert "**Shortcut.**" in with_audit and "DeGrave" in with_audit
    assert "**Shortcut.**" not in without and "0.969" not in without
    assert "**Few cases.**" in without  # the other failure modes stay


def test_a_nan_metric_reads_n_a():
    confusion = np.array([[5, 1, 0], [2, 7, 0], [0, 0, 0]])  # no COVID-19 cases, never predicted
    metrics = clinical.per_class_metrics(confusion, CLASSES)
    assert math.isnan(metrics.at["COVID-19", "sensitivity"])
    auc = pd.Series([0.9, 0.9, np.nan, 0.9], index=[*CLASSES, "macro"])
    text = model_card(
        **_inputs(metrics=metrics, auc=auc, intervals=None, operating_point=clinical.OperatingPoint(0.5, np.nan, 1.0))
    ).markdown
    assert "| COVID-19 | n/a | 1.000 | n/a | n/a | 0 |" in text
    assert "| COVID-19 | n/a |" in text.split("Area under")[1]
    assert "nan" not in text.lower()
    assert "about n/a are missed" in text


def test_missing_or_wrong_input_is_a_clear_error():
    inputs = _inputs()
    del inputs["metrics"]
    with pytest.raises(TypeError, match="metrics"):
        model_card(**inputs)
    with pytest.raises(TypeError, match="auc"):
        model_card(**_inputs(auc=None))
    with pytest.raises(TypeError, match="positional"):
        model_card("xray-cnn")
    with pytest.raises(ValueError, match="split"):
        model_card(**_inputs(data={"images": 10}))
    with pytest.raises(ValueError, match="64 hex"):
        model_card(**_inputs(sha256="abc"))
    with pytest.raises(ValueError, match="version"):
        model_card(**_inputs(version=" "))
    with pytest.raises(ValueError, match="support"):
        model_card(**_inputs(metrics=_metrics().drop(columns="support")))
    with pytest.raises(ValueError, match="positive_class"):
        model_card(**_inputs(positive_class="tuberculosis"))
    with pytest.raises(TypeError, match="OperatingPoint"):
        model_card(**_inputs(operating_point=0.31))
    wrong = {"COVID-19 sensitivity": clinical.Interval(0.5, 0.4, 0.6)}  # not the table's 0.923
    with pytest.raises(ValueError, match="same predictions"):
        model_card(**_inputs(intervals=wrong))


def test_a_serving_json_dict_gives_the_hash_and_must_agree():
    serving = {"model_sha256": SHA, "version": "xray-2027-01-15", "positive_class": "COVID-19", "threshold": 0.31254}
    serving["keras_version"] = "3.15.1"
    text = model_card(**_inputs(sha256=serving)).markdown
    assert SHA[:12] in text and "3.15.1" in text
    with pytest.raises(ValueError, match="threshold"):
        model_card(**_inputs(sha256={**serving, "threshold": 0.5}))
    with pytest.raises(ValueError, match="version"):
        model_card(**_inputs(sha256={**serving, "version": "other"}))
    with pytest.raises(ValueError, match="model_sha256"):
        model_card(**_inputs(sha256={"version": "xray-2027-01-15"}))


def test_the_card_renders_in_jupyter_and_saves_the_same_text(tmp_path):
    card = model_card(**_inputs())
    assert isinstance(card, ModelCard)
    assert card._repr_markdown_() == card.markdown == str(card)
    path = card.save(tmp_path / "cards" / "model_card.md")
    assert path.read_text(encoding="utf-8") == card.markdown
    with pytest.raises(AttributeError):
        card.markdown = "changed"  # frozen
