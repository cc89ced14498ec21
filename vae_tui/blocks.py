"""Arrays → terminal cells, as Textual strips: grayscale images in half blocks, latent-map dots in braille.

Pure functions (no widget, no app): an array goes in, strips come out, so they are tested alone. One cell of a
half-block image shows two pixels stacked: the upper half block ▀ takes the upper pixel as its foreground colour and
the lower pixel as its background. Without colour (``mono``), cells take ▀ ▄ █ or a space by thresholding instead.
"""

from __future__ import annotations

import textwrap
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

if TYPE_CHECKING:
    from vae_tui.palette import LabelPalette

UPPER_HALF = "▀"
MONO_GLYPHS = (" ", "▄", "▀", "█")
"""Mono cells indexed by (upper lit) * 2 + (lower lit)."""
BRAILLE_BASE = 0x2800
BRAILLE_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint16)
"""The bit of each dot in a braille cell, indexed by [row 0-3][column 0-1]."""
HIGHLIGHT_DARK = (20, 50, 110)
"""Where a highlighted region is black it turns this blue; white stays white."""


def to_levels(image: np.ndarray) -> np.ndarray:
    """A grayscale float image in [0, 1] → uint8 levels, rounded as the PNG writer rounds them."""
    return (np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def area_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Shrink an image [H, W] to ``height``×``width``, area averaging: each new pixel is the mean of what it covers."""
    return _area_weights(image.shape[0], height) @ image @ _area_weights(image.shape[1], width).T


@lru_cache(maxsize=32)
def _area_weights(size: int, new_size: int) -> np.ndarray:
    """[new_size, size]: how much of each old pixel falls in each new one, rows summing to 1."""
    edges = np.arange(new_size + 1) * size / new_size
    starts, ends = np.arange(size), np.arange(1, size + 1)
    overlap = np.clip(np.minimum(edges[1:, None], ends) - np.maximum(edges[:-1, None], starts), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resample(image: np.ndarray, scale: float) -> np.ndarray:
    """Enlarge an image by a whole factor (pixel repetition), or halve it (2×2 means) for ``scale`` 0.5."""
    if scale == 0.5:
        height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
        return image[:height, :width].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    factor = int(scale)
    if factor != scale or factor < 1:
        raise ValueError(f"scale must be 0.5 or a whole number ≥ 1, got {scale}")
    return image if factor == 1 else image.repeat(factor, axis=0).repeat(factor, axis=1)


@cache
def _gray(level: int, highlight: bool) -> Color:
    if not highlight:
        return Color.from_rgb(level, level, level)
    mix = level / 255
    return Color.from_rgb(*(round(dark + (255 - dark) * mix) for dark in HIGHLIGHT_DARK))


@cache
def _pair_style(upper: int, lower: int, upper_highlight: bool, lower_highlight: bool) -> Style:
    return Style(color=_gray(upper, upper_highlight), bgcolor=_gray(lower, lower_highlight))


_MONO_STYLES = (Style(), Style(reverse=True))


def image_strips(image: np.ndarray, mono: bool = False, highlight: np.ndarray | None = None) -> list[Strip]:
    """A grayscale image [H, W] in [0, 1] → ceil(H/2) strips of W cells.

    ``highlight`` is an optional bool mask over the pixels [H, W] to draw tinted (cells reversed in mono).
    """
    levels = to_levels(image)
    if highlight is None:
        highlight = np.zeros(levels.shape, dtype=bool)
    if len(levels) % 2:
        levels = np.concatenate([levels, np.zeros((1, levels.shape[1]), np.uint8)])
        highlight = np.concatenate([highlight, highlight[-1:]])
    uppers, lowers = levels[0::2], levels[1::2]
    upper_marks, lower_marks = highlight[0::2], highlight[1::2]
    if mono:
        glyph_codes = (uppers >= 128).astype(np.uint8) * 2 + (lowers >= 128)
        reversed_cells = upper_marks | lower_marks
        return [
            _run_length([MONO_GLYPHS[code] for code in codes.tolist()], [_MONO_STYLES[lit] for lit in marks.tolist()])
            for codes, marks in zip(glyph_codes, reversed_cells, strict=True)
        ]
    return [
        _run_length(
            [UPPER_HALF] * len(upper),
            list(map(_pair_style, upper.tolist(), lower.tolist(), upper_mark.tolist(), lower_mark.tolist())),
        )
        for upper, lower, upper_mark, lower_mark in zip(uppers, lowers, upper_marks, lower_marks, strict=True)
    ]


def _run_length(texts: list[str], styles: list[Style]) -> Strip:
    """One strip from per-cell texts and styles, merging neighbours that share a style into one segment."""
    segments: list[Segment] = []
    run_text, run_style = "", None
    for text, style in zip(texts, styles, strict=True):
        if style is run_style:
            run_text += text
            continue
        if run_text:
            segments.append(Segment(run_text, run_style))
        run_text, run_style = text, style
    if run_text:
        segments.append(Segment(run_text, run_style))
    return Strip(segments, len(texts))


def braille_cells(
    columns: np.ndarray, rows: np.ndarray, labels: np.ndarray, width: int, height: int, classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Dots at braille-dot coordinates → (braille character codes [height, width], majority label or -1).

    ``columns`` run over 0..2·width-1 and ``rows`` over 0..4·height-1 (a cell holds 2×4 dots); dots outside are
    dropped. A cell takes the colour of the label most of its dots carry.
    """
    columns, rows = np.floor(columns).astype(np.int64), np.floor(rows).astype(np.int64)
    inside = (columns >= 0) & (columns < 2 * width) & (rows >= 0) & (rows < 4 * height)
    columns, rows, labels = columns[inside], rows[inside], np.asarray(labels, dtype=np.int64)[inside] % classes
    cell_rows, cell_columns = rows // 4, columns // 2
    codes = np.zeros((height, width), dtype=np.uint16)
    np.bitwise_or.at(codes, (cell_rows, cell_columns), BRAILLE_BITS[rows % 4, columns % 2])
    counts = np.zeros((height, width, classes), dtype=np.int32)
    np.add.at(counts, (cell_rows, cell_columns, labels), 1)
    majority = np.where(counts.any(axis=2), counts.argmax(axis=2), -1)
    return BRAILLE_BASE + codes, majority


AXIS_STYLE = Style(color=Color.from_rgb(96, 96, 96))
NOTE_STYLE = Style(italic=True)
MARK_STYLE = Style(color=Color.from_rgb(0, 0, 0), bgcolor=Color.from_rgb(255, 255, 255), bold=True)
MONO_MARK_STYLE = Style(bold=True, reverse=True)


@lru_cache(maxsize=64)
def _label_style(color: tuple[int, int, int]) -> Style:
    return Style(color=Color.from_rgb(*color))


def map_strips(
    codes: np.ndarray,
    majority: np.ndarray,
    palette: LabelPalette,
    axes: tuple[int | None, int | None] = (None, None),
    marks: dict[tuple[int, int], str] | None = None,
    mono: bool = False,
) -> list[Strip]:
    """Braille cells from :func:`braille_cells` → strips of the latent map.

    A cell with dots takes its majority label's colour from ``palette``, and shows the label's digit instead of
    the dots where the palette says colour alone cannot tell that label apart (every label, without colour).
    Empty cells on the ``axes`` (row of y = 0, column of x = 0) show a dim axis line. ``marks`` maps
    (row, column) → one character (the cursor, the points A and B) drawn over everything.
    """
    axis_row, axis_column = axes
    marks = marks or {}
    mark_style = MONO_MARK_STYLE if mono else MARK_STYLE
    strips = []
    for row, (code_row, label_row) in enumerate(zip(codes.tolist(), majority.tolist(), strict=True)):
        texts, styles = [], []
        for column, (code, label) in enumerate(zip(code_row, label_row, strict=True)):
            mark = marks.get((row, column))
            if mark is not None:
                texts.append(mark)
                styles.append(mark_style)
            elif label >= 0:
                texts.append(str(label) if label in palette.glyphs else chr(code))
                styles.append(_label_style(palette.colors[label]))
            else:
                on_row, on_column = row == axis_row, column == axis_column
                texts.append("┼" if on_row and on_column else "─" if on_row else "│" if on_column else " ")
                styles.append(AXIS_STYLE)
        strips.append(_run_length(texts, styles))
    return strips


def place(strips: list[Strip], width: int, left: int, style: Style | None = None) -> list[Strip]:
    """Strips shifted ``left`` cells right and cut or filled to ``width``, the gaps painted in ``style``."""
    placed = []
    for strip in strips:
        right = width - left - strip.cell_length
        if right < 0:  # too wide: cut (the slow path, rare)
            placed.append(Strip.join([Strip.blank(left, style), strip]).crop(0, width))
            continue
        segments = [Segment(" " * left, style)] if left else []
        segments += [*strip, Segment(" " * right, style)] if right else [*strip]
        placed.append(Strip(segments, width))
    return placed


def note_strips(note: str, width: int, height: int | None = None) -> list[Strip]:
    """A note (loading, no data) wrapped to ``width``, centred, in the note style; at most ``height`` lines."""
    lines = textwrap.wrap(note, max(10, width - 4))[:height]
    return [Strip([Segment(line.center(width)[:width], NOTE_STYLE)], width) for line in lines]
