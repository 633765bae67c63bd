"""WCAG 2.1 contrast arithmetic (pure functions; no Django)."""

from __future__ import annotations

import re

# \Z, not $: "$" would also accept a trailing newline ("#005a9c\n").
HEX_COLOUR = re.compile(r"\A#[0-9a-fA-F]{6}\Z")
WHITE = "#ffffff"
AA_NORMAL_TEXT = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    if not HEX_COLOUR.match(colour):
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(foreground: str, background: str = WHITE) -> float:
    """WCAG contrast ratio between two #rrggbb colours, from 1.0 to 21.0."""
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def passes_aa_on_white(colour: str) -> bool:
    return contrast_ratio(colour, WHITE) >= AA_NORMAL_TEXT
