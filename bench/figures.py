"""Small helpers the benchmarks share: a percentile and a timed call, in milliseconds."""

from __future__ import annotations

import time
from collections.abc import Callable


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(function: Callable[[], object]) -> float:
    """How long `function()` took, in milliseconds."""
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000
