"""A run's loss curves as braille strips: BCE above KL, train, validation and test in three colours.

Pure (a history in, strips out) and drawn with the latent map's braille renderer (:func:`vae_tui.blocks.braille_cells`
and :func:`~vae_tui.blocks.map_strips`), the curves taking the place of label colours. The x axis spans the epochs
planned, so a run being trained fills it from the left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from vae_tui.blocks import AXIS_STYLE, braille_cells, map_strips, place
from vae_tui.palette import LabelPalette

if TYPE_CHECKING:  # vae_core.history imports torch, which the explorer loads after its first frame
    from vae_core.history import TrainingHistory

SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}
"""vae_core.history's loss splits (LOSS_SPLITS), in its order, with the names a person reads."""
SPLIT_LABELS = {"train": 0, "val": 1, "test": 3}
"""Each split borrows a digit label's colour: three that stay apart at every colour depth."""
GUTTER = 8
"""Cells left of each plot for its y-axis figures."""
TITLE_STYLE = Style(bold=True)


def curve_palette(labels: LabelPalette) -> LabelPalette:
    """The splits' colours, in SPLIT_NAMES order, taken from the label palette (digits drawn where it says so)."""
    chosen = [SPLIT_LABELS[split] for split in SPLIT_NAMES]
    glyphs = frozenset(index for index, label in enumerate(chosen) if label in labels.glyphs)
    return LabelPalette(tuple(labels.colors[label] for label in chosen), glyphs)


def loss_strips(
    history: TrainingHistory, epoch: int | None, width: int, height: int, palette: LabelPalette, mono: bool = False
) -> list[Strip]:
    """Two panels, BCE then KL, filling ``width``×``height``; a dim line marks ``epoch`` (None: no line)."""
    curves = {split: history.loss_curve(split) for split in SPLIT_NAMES}
    strips = []
    for part, (title, rows) in enumerate((("BCE", height // 2), ("KL", height - height // 2))):
        parts = {split: (epochs, losses[part]) for split, (epochs, *losses) in curves.items()}
        strips += _panel(title, parts, history, epoch, width, rows, palette, mono)
    return strips


def _panel(
    title: str,
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    history: TrainingHistory,
    epoch: int | None,
    width: int,
    height: int,
    palette: LabelPalette,
    mono: bool,
) -> list[Strip]:
    """A title line with the legend, then the plot with its highest and lowest value, then the epochs' line."""
    if height < 3:
        return [Strip.blank(width)] * height
    plot_width, plot_height = max(1, width - GUTTER), height - 2
    measured = [values for _, values in curves.values() if len(values)]
    low = min(float(values.min()) for values in measured)
    high = max(float(values.max()) for values in measured)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    last = max(history.epochs_planned, history.last_epoch, 2)
    columns, rows, labels = [], [], []
    for index, (epochs, values) in enumerate(curves.values()):
        if not len(epochs):
            continue
        # Sample each curve at every dot column it spans, so neighbouring epochs join into a line.
        steps = max(2, int((epochs[-1] - epochs[0]) / (last - 1) * 2 * plot_width) + 1)
        along = np.linspace(epochs[0], epochs[-1], steps) if len(epochs) > 1 else epochs.astype(np.float64)
        columns.append((along - 1) / (last - 1) * (2 * plot_width - 1))
        rows.append((high - np.interp(along, epochs, values)) / (high - low) * (4 * plot_height - 1))
        labels.append(np.full(len(along), index))
    codes, majority = braille_cells(
        np.concatenate(columns) + 0.5, np.concatenate(rows) + 0.5, np.concatenate(labels), plot_width, plot_height
    )
    marker = None if epoch is None else round((epoch - 1) / (last - 1) * (2 * plot_width - 1)) // 2
    plot = map_strips(codes, majority, palette, (None, marker), mono=mono)
    figures = {0: f"{high:.1f}", plot_height - 1: f"{low:.1f}"}
    lines = [_title_line(title, palette, width)]
    for row, strip in enumerate(plot):
        lines.append(Strip.join([Strip([Segment(figures.get(row, "").rjust(GUTTER - 1) + " ", AXIS_STYLE)]), strip]))
    epochs_line = f"epoch 1{str(last).rjust(plot_width - 7)}"
    lines.append(place([Strip([Segment(epochs_line, AXIS_STYLE)])], width, GUTTER)[0])
    return lines


def _title_line(title: str, palette: LabelPalette, width: int) -> Strip:
    """The panel's name, then each split in its colour (as its digit where the palette draws digits)."""
    segments = [Segment(f"{title} (nats)  ", TITLE_STYLE)]
    for index, split in enumerate(SPLIT_NAMES):
        sign = str(index) if index in palette.glyphs else "━━"
        segments += [
            Segment(sign, Style(color=Color.from_rgb(*palette.colors[index]))),
            Segment(f" {SPLIT_NAMES[split]}  "),
        ]
    return Strip(segments).crop_extend(0, width, None)
