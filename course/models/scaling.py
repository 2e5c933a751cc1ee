"""The width multiplier every builder of the model zoo takes (lecture 03 uses it for CPU-sized nets)."""

from __future__ import annotations


def scaled(channels: int, width: float, multiple: int = 1) -> int:
    """``channels * width``, rounded to a multiple of ``multiple`` (a layer's groups), and at least one."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return max(multiple, int(round(channels * width / multiple)) * multiple)
