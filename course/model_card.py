"""A one-page model card in Markdown, written from measured values (lecture 10, the chest X-ray case study).

A model card (Mitchell et al. 2019, "Model Cards for Model Reporting") travels with a trained model and says
what it is for, what it was trained and tested on, how well it does per class and with what uncertainty, at
which operating threshold it is served and what that costs, where it is known to fail, who must check its
answers, and exactly which file it describes. :func:`model_card` writes one from the values the case study
*measures*: :func:`course.clinical.per_class_metrics` and :func:`course.clinical.roc_auc` on the test part,
:func:`course.clinical.bootstrap_ci` intervals, the operating point, the border-only
:func:`course.shortcuts.shortcut_audit`, and the hash :func:`course.deploy.save_for_serving` recorded. No
number in the card is typed by hand, so re-running the notebook re-writes the card, and the card cannot
drift from the model it describes.

Every figure has three decimals (``0.923``), an interval is written ``0.923 (0.850–0.970)``, a figure that
could not be measured (a NaN) reads ``n/a``. The card always says **Not for clinical use**: it describes a
teaching model.

NumPy and pandas only; nothing here starts Keras.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import pandas as pd

from .clinical import Interval, OperatingPoint
from .shortcuts import ShortcutAudit

__all__ = ["METRIC_COLUMNS", "ModelCard", "model_card"]

#: The columns of :func:`course.clinical.per_class_metrics` the card's metrics table shows, in order.
METRIC_COLUMNS = ("sensitivity", "specificity", "precision", "f1", "support")

_HEADERS = {"sensitivity": "sensitivity", "specificity": "specificity", "precision": "precision", "f1": "F1"}
_TOLERANCE = 1e-6  # an interval's point must be the value it is attached to, up to rounding


@dataclass(frozen=True)
class ModelCard:
    """A model card: its Markdown text (``.markdown``), shown rendered in Jupyter; :meth:`save` writes it."""

    markdown: str

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        return self.markdown

    def save(self, path: str | os.PathLike) -> Path:
        """Write the card to ``path`` (a ``.md`` file, UTF-8; folders are created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.markdown, encoding="utf-8")
        return path


# ---------------------------------------------------------------------------------------------------------------
# Formatting: one way for each kind of number
# ---------------------------------------------------------------------------------------------------------------


def _missing(value) -> bool:
    return value is None or (isinstance(value, Real) and math.isnan(float(value)))


def _fraction(value) -> str:
    """A metric (a fraction or an AUC): three decimals, ``n/a`` for NaN."""
    return "n/a" if _missing(value) else f"{float(value):.3f}"


def _interval(point, interval: Interval | None = None) -> str:
    """``0.923 (0.850–0.970)``; without an interval just ``0.923``."""
    if interval is None or _missing(point):
        return _fraction(point)
    if _missing(interval.low) or _missing(interval.high):
        return f"{_fraction(point)} (n/a)"
    return f"{_fraction(point)} ({_fraction(interval.low)}–{_fraction(interval.high)})"


def _count(value) -> str:
    if _missing(value):
        return "n/a"
    if isinstance(value, Integral) or (isinstance(value, Real) and float(value).is_integer()):
        return f"{int(value):,}"
    return f"{float(value):.4g}"


def _value(value) -> str:
    """Any value of the data or timings dict: counts with thousands separators, other numbers to 4 figures."""
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {_value(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(item) for item in value)
    if isinstance(value, bool) or not isinstance(value, Real):
        return str(value)
    return _count(value)


def _cell(text) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


# ---------------------------------------------------------------------------------------------------------------
# Checking the inputs
# ---------------------------------------------------------------------------------------------------------------


def _required(name: str, value):
    if value is None:
        raise TypeError(f"model_card needs {name}=..., got None.")
    return value


def _text(name: str, value) -> str:
    _required(name, value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"model_card's {name} must be a non-empty string, got {value!r}.")
    return value.strip()


def _model_hash(sha256, version: str, operating_point: OperatingPoint, positive_class: str) -> tuple[str, dict]:
    """The model's SHA-256 (64 hex digits) from a string or a serving.json dict, checked against the card."""
    _required("sha256", sha256)
    serving: dict = {}
    if isinstance(sha256, Mapping):
        serving = dict(sha256)
        if "model_sha256" not in serving:
            raise ValueError("sha256 is a dict but holds no 'model_sha256' (pass serving.json's content).")
        if "version" in serving and serving["version"] != version:
            raise ValueError(f"version {version!r} is not serving.json's version {serving['version']!r}.")
        if "positive_class" in serving and serving["positive_class"] != positive_class:
            raise ValueError(
                f"positive_class {positive_class!r} is not serving.json's positive class {serving['positive_class']!r}."
            )
        if "threshold" in serving and not math.isclose(
            float(serving["threshold"]), operating_point.threshold, rel_tol=1e-9, abs_tol=1e-12
        ):
            raise ValueError(
                f"the operating point's threshold {operating_point.threshold:.4g} is not the threshold "
                f"{float(serving['threshold']):.4g} that serving.json serves."
            )
        sha256 = serving["model_sha256"]
    if not isinstance(sha256, str):
        raise TypeError(f"sha256 must be a hex string or a serving.json dict, got {type(sha256).__name__}.")
    digest = sha256.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"sha256 must be 64 hex digits (a SHA-256), got {sha256!r}.")
    return digest, serving


def _metrics_table(metrics) -> pd.DataFrame:
    _required("metrics", metrics)
    if not isinstance(metrics, pd.DataFrame):
        raise TypeError(f"metrics must be the DataFrame of clinical.per_class_metrics, got {type(metrics).__name__}.")
    missing = [column for column in METRIC_COLUMNS if column not in metrics.columns]
    if missing:
        raise ValueError(f"metrics lacks the column(s) {', '.join(missing)} (use clinical.per_class_metrics).")
    if metrics.empty:
        raise ValueError("metrics has no rows (no classes).")
    return metrics


def _intervals(intervals) -> dict[str, Interval]:
    if intervals is None:
        return {}
    if not isinstance(intervals, Mapping):
        raise TypeError(f"intervals must map a name to a clinical.Interval, got {type(intervals).__name__}.")
    out = {}
    for name, interval in intervals.items():
        if not (isinstance(interval, tuple) and len(interval) == 3):
            raise TypeError(f"intervals[{name!r}] must be a clinical.Interval (point, low, high), got {interval!r}.")
        out[str(name)] = Interval(*(float(v) for v in interval))
    return out


def _attach(intervals: dict[str, Interval], used: set[str], key: str, value) -> Interval | None:
    """The interval named ``key``, checked to be about ``value`` (its point), and marked as shown."""
    interval = intervals.get(key)
    if interval is None:
        return None
    if not _missing(value) and not math.isclose(interval.point, float(value), rel_tol=0, abs_tol=_TOLERANCE):
        raise ValueError(
            f"intervals[{key!r}] has point {interval.point:.6g}, but the value it belongs to is {float(value):.6g}: "
            "the interval and the table were not measured on the same predictions."
        )
    used.add(key)
    return interval


# ---------------------------------------------------------------------------------------------------------------
# The card
# ---------------------------------------------------------------------------------------------------------------


def model_card(
    *,
    name: str,
    version: str,
    sha256: str | Mapping,
    data: Mapping,
    metrics: pd.DataFrame,
    auc: pd.Series,
    operating_point: OperatingPoint,
    positive_class: str,
    threshold_chosen_on: str = "validation",
    intervals: Mapping[str, Interval] | None = None,
    interval_level: float = 0.95,
    shortcut: ShortcutAudit | None = None,
    failure_modes: Sequence[str] = (),
    timings: Mapping[str, object] | None = None,
) -> ModelCard:
    """A one-page Markdown model card of a classifier, from measured values only (lecture 10).

    Arguments (keyword-only):

    - ``name``, ``version``: the model's name and version (as in ``serving.json``);
    - ``sha256``: the SHA-256 of ``model.keras``, or the ``serving.json`` dict that
      :func:`course.deploy.save_for_serving` returns (then its version, positive class and threshold
      must agree with the card's, else ``ValueError``);
    - ``data``: what it was trained and tested on, e.g. ``{"images": 1015, "patients": 773, "per class":
      {"normal": 234, ...}, "split": "patient-wise 60/20/20", "source": "...", "population": "..."}``;
      ``"images"`` and ``"split"`` are required, any other key is listed as given; a ``"population"``
      entry also appears among the known failure modes;
    - ``metrics``: :func:`course.clinical.per_class_metrics` on the **test** part;
    - ``auc``: :func:`course.clinical.roc_auc` on the test part (per class and ``"macro"``);
    - ``operating_point``: a :class:`course.clinical.OperatingPoint` holding the served threshold of
      ``positive_class`` and the sensitivity and specificity it gives **on the test part**; the
      threshold itself was chosen on ``threshold_chosen_on`` (default ``"validation"``);
    - ``intervals``: bootstrap intervals (:func:`course.clinical.bootstrap_ci`) by name. A name
      ``"<class> <column>"`` (``"COVID-19 sensitivity"``) is shown in that cell of the metrics
      table, ``"<class> AUC"`` and ``"macro AUC"`` in the AUC table; other names are listed below
      them. An interval's point must equal the value it is shown with (``ValueError`` otherwise);
      ``interval_level`` is their confidence level, for the card's text;
    - ``shortcut``: a :class:`course.shortcuts.ShortcutAudit`, shown as a known failure mode, or None;
    - ``failure_modes``: further known failure modes, one string each;
    - ``timings``: optional measured costs, e.g. ``{"training on 2 CPU cores (s)": 312.4}``.

    The sections are fixed: Intended use (not for clinical use), Data, Metrics, Operating point (with its
    cost in false alarms per 100 negatives), Known failure modes (the shortcut audit, the smallest class's
    count and interval width, the population, data from the same sources only), Human review, Version
    (the model hash's first 12 hex digits). Returns a :class:`ModelCard`; show it in Jupyter by leaving it
    last in a cell, write it with ``card.save("model_card.md")``.
    """
    name, version = _text("name", name), _text("version", version)
    positive_class = _text("positive_class", positive_class)
    threshold_chosen_on = _text("threshold_chosen_on", threshold_chosen_on)
    _required("operating_point", operating_point)
    if not isinstance(operating_point, OperatingPoint):
        raise TypeError(
            f"operating_point must be a clinical.OperatingPoint, got {type(operating_point).__name__}: "
            "build it as OperatingPoint(threshold, test_sensitivity, test_specificity)."
        )
    digest, serving = _model_hash(sha256, version, operating_point, positive_class)
    _required("data", data)
    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a dict describing the data, got {type(data).__name__}.")
    for key in ("images", "split"):
        if key not in data:
            raise ValueError(f"data lacks {key!r}: the card must say how many images and how they were split.")
    metrics = _metrics_table(metrics)
    _required("auc", auc)
    if not isinstance(auc, pd.Series):
        raise TypeError(f"auc must be the Series of clinical.roc_auc, got {type(auc).__name__}.")
    classes = [str(c) for c in metrics.index]
    if positive_class not in classes:
        raise ValueError(f"positive_class {positive_class!r} is not one of the metrics' classes {classes}.")
    intervals = _intervals(intervals)
    if not 0 < interval_level < 1:
        raise ValueError(f"interval_level must be in (0, 1), got {interval_level}.")
    if shortcut is not None and not isinstance(shortcut, ShortcutAudit):
        raise TypeError(f"shortcut must be a shortcuts.ShortcutAudit or None, got {type(shortcut).__name__}.")
    if isinstance(failure_modes, str):
        failure_modes = [failure_modes]
    if timings is not None and not isinstance(timings, Mapping):
        raise TypeError(f"timings must be a dict of name -> measured value, got {type(timings).__name__}.")
    used: set[str] = set()
    level = f"{interval_level:.0%}"

    lines = [f"# Model card: {name}", "", f"Version {version} · model SHA-256 `{digest[:12]}`", ""]

    # Intended use
    lines += [
        "## Intended use",
        "",
        "**Not for clinical use.** This is a teaching model from the course *CNN Architectures in Practice* "
        f"(lecture 10): it sorts chest X-rays into {', '.join(classes)} to show how such a model is built, "
        "measured and audited. It is not a medical device and has not been validated for patients.",
        "",
        "- Every result needs review by a qualified human (a radiologist or physician) who sees the image "
        "and the patient.",
        "- An output is a suggestion to look again, not a diagnosis; it must never decide a patient's care.",
        "- Out of scope: any clinical decision, other hospitals, scanners, views or populations than the data below.",
        "",
    ]

    # Data
    lines += ["## Data", ""]
    labels = {"images": "Images", "patients": "Patients", "per class": "Images per class", "split": "Split"}
    for key, value in data.items():
        lines.append(f"- {labels.get(key, str(key)[:1].upper() + str(key)[1:])}: {_value(value)}")
    lines.append("")

    # Metrics
    lines += [
        "## Metrics",
        "",
        f"On the test part, one class against the rest. In parentheses: {level} bootstrap confidence intervals "
        "(test cases resampled within each class).",
        "",
    ]
    rows = []
    for index, cls in zip(metrics.index, classes, strict=True):
        row = [cls]
        for column in METRIC_COLUMNS[:-1]:
            value = metrics.at[index, column]
            row.append(_interval(value, _attach(intervals, used, f"{cls} {column}", value)))
        row.append(_count(metrics.at[index, "support"]))
        rows.append(row)
    lines += _table(["class", *(_HEADERS[c] for c in METRIC_COLUMNS[:-1]), "support"], rows)
    lines.append("")
    if "accuracy" in metrics.attrs:
        accuracy = metrics.attrs["accuracy"]
        lines += [f"Overall accuracy: {_interval(accuracy, _attach(intervals, used, 'accuracy', accuracy))}.", ""]
    auc_rows = []
    for key, value in auc.items():
        label = str(key)
        interval = _attach(intervals, used, f"{label} AUC", value)
        auc_rows.append([label, _interval(value, interval)])
    lines += ["Area under the one-vs-rest ROC curve (0.5 is chance, 1 is perfect):", ""]
    lines += _table(["class", "AUC"], auc_rows)
    lines.append("")
    others = [key for key in intervals if key not in used]
    if others:
        lines += ["Further measured values:", ""]
        lines += [f"- {key}: {_interval(intervals[key].point, intervals[key])}" for key in others]
        lines.append("")

    # Operating point
    sens, spec = operating_point.sensitivity, operating_point.specificity
    false_alarms = math.nan if _missing(spec) else 100 * (1 - spec)
    missed = math.nan if _missing(sens) else 100 * (1 - sens)

    def per100(value: float) -> str:
        return "n/a" if _missing(value) else f"{value:.1f}"

    lines += [
        "## Operating point",
        "",
        f"The model reports **{positive_class}** whenever its probability is at least "
        f"**{operating_point.threshold:.4g}**, and otherwise the most probable class. The threshold was chosen "
        f"on the {threshold_chosen_on} data; the figures below are measured on the test part.",
        "",
    ]
    lines += _table(
        ["positive class", "threshold", "sensitivity (test)", "specificity (test)", "false alarms per 100 negatives"],
        [[positive_class, f"{operating_point.threshold:.4g}", _fraction(sens), _fraction(spec), per100(false_alarms)]],
    )
    lines += [
        "",
        f"Cost: of every 100 patients without {positive_class}, about {per100(false_alarms)} are flagged as "
        f"{positive_class} (false alarms, each one an extra review); of every 100 with {positive_class}, about "
        f"{per100(missed)} are missed.",
        "",
    ]

    # Known failure modes
    lines += ["## Known failure modes", ""]
    if shortcut is not None:
        scores = ", ".join(f"{key} {_fraction(value)}" for key, value in shortcut.auc.items())
        lines.append(
            "- **Shortcut.** A classifier that sees only the image border, where there is no lung, scores "
            f"AUC {scores}; balanced accuracy {_fraction(shortcut.balanced_accuracy)} (an AUC of 0.5 is "
            "chance). An AUC well above 0.5 means the labels can be read off how and where an image was "
            "taken (DeGrave et al. 2021): then a high test score does not show that the model looks at the lungs."
        )
    smallest = metrics["support"].astype(float).idxmin()
    small = str(smallest)
    small_sens = metrics.at[smallest, "sensitivity"]
    text = f"- **Few cases.** Only {_count(metrics.at[smallest, 'support'])} {small} cases in the test part"
    interval = intervals.get(f"{small} sensitivity")
    if interval is not None and not _missing(interval.low) and not _missing(interval.high):
        text += (
            f": its sensitivity {_interval(small_sens, interval)} is uncertain by an interval "
            f"{interval.high - interval.low:.3f} wide."
        )
    else:
        text += ": its figures are uncertain."
    lines.append(text)
    if "population" in data:
        lines.append(f"- **Population difference.** {_value(data['population'])}")
    lines.append(
        "- **Same sources only.** The test part comes from the same sources as the training data (split by "
        "patient, not by hospital): how the model does on other hospitals, scanners or populations is unknown."
    )
    for mode in failure_modes:
        lines.append(f"- {mode}")
    lines.append("")

    # Human review
    lines += [
        "## Human review",
        "",
        "- A qualified reader reviews every image and every answer; the model only orders the work list.",
        f"- A {positive_class} flag is a reason to look first, never a finding; a negative answer does not "
        "clear a patient.",
        "- Each answer is logged with the model's version and hash, so a disagreement can be traced to the "
        "exact model and reported.",
        "",
    ]

    # Version
    lines += ["## Version", "", f"- Model: {name}, version {version}"]
    lines.append(f"- Model SHA-256 (first 12 hex): `{digest[:12]}`")
    for key in ("keras_version", "saved_with_backend"):
        if key in serving:
            lines.append(f"- {key.replace('_', ' ').capitalize()}: {serving[key]}")
    if timings:
        lines += ["", "Measured timings:", ""]
        lines += [f"- {key}: {_value(value)}" for key, value in timings.items()]
    lines.append("")
    return ModelCard("\n".join(lines))
