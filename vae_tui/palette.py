"""Colour in the terminal: which depth it supports, and ten label colours that stay apart at every depth.

The ten labels take a colour-blind-safe set (Paul Tol's and Okabe & Ito's schemes, chosen for the largest
smallest distance under normal, deuteranope, protanope and tritanope vision, all light enough for a dark background).
Each colour depth gets the nearest colours it can show; where two labels' colours fall closer than
:data:`DISTINCT` (16 colours cannot hold ten colour-blind-safe hues), those labels are drawn as their digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
from rich.color import EIGHT_BIT_PALETTE, STANDARD_PALETTE

if TYPE_CHECKING:
    from textual.app import App

RGB = tuple[int, int, int]
LABEL_COLORS: tuple[RGB, ...] = (
    (119, 170, 221),  # light blue
    (238, 136, 102),  # light orange
    (0, 153, 136),  # teal
    (238, 51, 119),  # magenta
    (240, 228, 66),  # yellow
    (213, 94, 0),  # vermillion
    (153, 221, 255),  # light cyan
    (221, 221, 221),  # pale grey
    (153, 153, 51),  # olive
    (204, 187, 68),  # sand
)
"""One colour per digit label 0-9 in truecolor."""
DISTINCT = 10.0
"""The smallest CIE76 ΔE (under every simulated vision) at which two labels may rely on colour alone."""
MODES = ("truecolor", "256", "16", "none")
TEXTUAL_COLOR_SYSTEMS = {"truecolor": "truecolor", "256": "256", "16": "standard"}
"""--colors values → Textual's colour systems; "none" sets NO_COLOR instead."""
ANSI_CHOICES = (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15)
"""The 16-colour palette's entries that show on a dark background (not black or dark grey)."""
VISION = {
    "normal": np.eye(3),
    "deuteranope": np.array([[0.367, 0.861, -0.228], [0.280, 0.673, 0.047], [-0.012, 0.043, 0.969]]),
    "protanope": np.array([[0.152, 1.053, -0.205], [0.115, 0.786, 0.099], [-0.004, -0.048, 1.052]]),
    "tritanope": np.array([[1.256, -0.077, -0.179], [-0.078, 0.931, 0.148], [0.005, 0.691, 0.304]]),
}
"""Machado, Oliveira & Fernandes (2009) simulations of full dichromacy, on linear RGB."""


@dataclass(frozen=True)
class LabelPalette:
    """What the terminal shows for each label: its colour, and whether the digit itself is drawn."""

    colors: tuple[RGB, ...]
    glyphs: frozenset[int]
    """Labels drawn as their digit, because their colour alone is too close to another label's."""


def detect_colors(environ: Mapping[str, str]) -> str | None:
    """Truecolor where COLORTERM says so or TERM names a direct-colour terminal; "none" under NO_COLOR; else None.

    None leaves the choice to Textual, which tells 256 colours (TERM …-256color) from 16.
    """
    if "NO_COLOR" in environ:
        return "none"
    term = environ.get("TERM", "")
    if environ.get("COLORTERM", "").lower() in ("truecolor", "24bit") or term.endswith(("-direct", "truecolor")):
        return "truecolor"
    return None


def color_mode(app: App) -> str:
    """The colour mode an app draws in: one of :data:`MODES`."""
    system = app.console.color_system
    if app.no_color or system is None:
        return "none"
    return {"truecolor": "truecolor", "256": "256"}.get(system, "16")


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB [..., 3] in 0-255 → CIELAB (D65)."""
    linear = _linear(rgb)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _linear(rgb: np.ndarray) -> np.ndarray:
    values = np.asarray(rgb, dtype=float) / 255
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def _srgb(linear: np.ndarray) -> np.ndarray:
    values = np.clip(linear, 0.0, 1.0)
    return 255 * np.where(values <= 0.0031308, 12.92 * values, 1.055 * values ** (1 / 2.4) - 0.055)


def _seen(colors: np.ndarray) -> np.ndarray:
    """Colours [N, 3] → CIELAB [vision, N, 3] as each of :data:`VISION` sees them."""
    return np.stack([_lab(_srgb(_linear(colors) @ matrix.T)) for matrix in VISION.values()])


def color_distance(first: RGB, second: RGB) -> float:
    """The smallest CIE76 ΔE between two colours as seen with normal vision and each simulated dichromacy."""
    seen = _seen(np.asarray([first, second], dtype=float))
    return float(np.linalg.norm(seen[:, 0] - seen[:, 1], axis=-1).min())


def _spread(colors: tuple[RGB, ...], choices: list[RGB], nearest: int) -> tuple[RGB, ...]:
    """Each colour → one of its ``nearest`` choices, picked so that the closest pair of labels is as far as it can be.

    Plain nearest matching lets two labels land on one colour; a few rounds of trying each label's candidates
    not taken by another label (keeping the one farthest from the others, the nearer on a tie) pull them apart.
    """
    options = np.asarray(choices, dtype=float)
    seen = _seen(options)
    gaps = np.linalg.norm(seen[:, :, None] - seen[:, None, :], axis=-1).min(axis=0)
    to_target = np.linalg.norm(_lab(np.asarray(colors, float))[:, None] - _lab(options)[None], axis=-1)
    candidates = np.argsort(to_target, axis=1)[:, :nearest]
    picked = candidates[:, 0].copy()
    for _ in range(8):
        before = picked.copy()
        for label in range(len(colors)):
            others = np.delete(picked, label)
            free = [option for option in candidates[label] if option not in others] or candidates[label]
            picked[label] = max(free, key=lambda option: (gaps[option, others].min(), -to_target[label, option]))
        if np.array_equal(before, picked):
            break
    return tuple(choices[index] for index in picked)


@cache
def label_palette(mode: str) -> LabelPalette:
    """The label colours a terminal in ``mode`` (one of :data:`MODES`) shows, and which labels need their digit."""
    if mode == "none":
        return LabelPalette(LABEL_COLORS, frozenset(range(len(LABEL_COLORS))))
    if mode == "16":
        colors = _spread(LABEL_COLORS, [tuple(STANDARD_PALETTE[index]) for index in ANSI_CHOICES], 4)
    elif mode == "256":
        colors = _spread(LABEL_COLORS, [tuple(EIGHT_BIT_PALETTE[index]) for index in range(16, 256)], 6)
    else:
        colors = LABEL_COLORS
    close = {label for pair in combinations(range(len(colors)), 2) for label in pair if _too_close(colors, *pair)}
    return LabelPalette(colors, frozenset(close))


def _too_close(colors: tuple[RGB, ...], first: int, second: int) -> bool:
    return color_distance(colors[first], colors[second]) < DISTINCT
