"""Test digits above their reconstructions, as many as fit across; a key draws a new random set.

Drawn in half blocks, or in real pixels where the app has graphics (the same pairs, as large as fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widget import Widget

from vae_tui.blocks import image_strips, note_strips, place, resample
from vae_tui.geometry import SIDE
from vae_tui.graphics import PixelPicture, pixel_layer

if TYPE_CHECKING:
    from vae_tui.session import Session

GAP = 4
"""Black pixels between two rows of pairs, so that each original stays with its reconstruction."""
FULL_SIZE_PAIRS = 10
"""Full-size digits where at least this many pairs fit; else half size (more pairs, still legible)."""


@dataclass(frozen=True)
class PairLayout:
    """Pairs (a test digit above its reconstruction) in ``rows`` rows of ``columns``, at ``scale``."""

    scale: float
    columns: int
    rows: int

    @property
    def count(self) -> int:
        return self.columns * self.rows


def pair_layout(width: int, height: int) -> PairLayout:
    """As many pairs as fill ``width``×``height`` cells: full size where enough fit, else half size."""
    layouts = []
    for scale in (1.0, 0.5):
        pair_rows = int(SIDE * scale)  # two digits, each SIDE·scale pixels tall, two pixels a row
        gap_rows = int(GAP * scale) // 2
        columns = max(1, int(width // (SIDE * scale)))
        layouts.append(PairLayout(scale, columns, max(1, (height + gap_rows) // (pair_rows + gap_rows))))
    full, half = layouts
    return full if full.count >= FULL_SIZE_PAIRS else half


def pairs_picture(pairs: np.ndarray, columns: int) -> np.ndarray:
    """One [56, 28·count] strip of pairs → rows of ``columns`` pairs, :data:`GAP` black pixels apart."""
    count = pairs.shape[1] // SIDE
    rows = [pairs[:, start * SIDE : (start + columns) * SIDE] for start in range(0, count, columns)]
    width = columns * SIDE
    padded = [np.pad(row, ((0, GAP), (0, width - row.shape[1]))) for row in rows]
    return np.concatenate(padded)[:-GAP]


class ReconstructionView(Widget, can_focus=True):
    """The reconstructions view; :attr:`image` is the picture on screen at full resolution, for export."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("n", "new_set", "New digits", show=False)]

    def __init__(self, seed: int = 0, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session: Session | None = None
        self.note = ""
        self.image: np.ndarray | None = None
        self._rng = np.random.default_rng(seed)
        self._order = np.zeros(0, dtype=np.int64)
        self._layout = PairLayout(0.5, 0, 0)
        self._strips: list[Strip] = []
        self._strips_key: tuple | None = None

    def compose(self) -> ComposeResult:
        yield from pixel_layer(self.app)

    def set_digits(self, session: Session, note: str = "") -> None:
        """Draw reconstructions of the session's test digits (where it has none: show ``note`` instead)."""
        self.session, self.note = session, note
        self.action_new_set()

    def action_new_set(self) -> None:
        """A fresh random order of the digits; the first ones that fit are shown."""
        digits = self.session.digits if self.session is not None else None
        self._order = self._rng.permutation(len(digits)) if digits is not None else self._order[:0]
        self._reconstruct()

    def on_resize(self) -> None:
        if pair_layout(*self.size) != self._layout:
            self._reconstruct()

    def _reconstruct(self) -> None:
        """Reconstruct the first digits of the current order, as many as fill the view."""
        self._layout = layout = pair_layout(*self.size)
        chosen = self._order[: layout.count]
        if self.session is None or self.session.digits is None or len(chosen) == 0:
            self.image = None
            self.border_title = "Reconstructions"
        else:
            self.image = pairs_picture(self.session.reconstructions(chosen), layout.columns)
            self.border_title = f"{len(chosen)} test digits (upper) above their reconstructions (lower)"
            self.border_subtitle = "n new digits"
        if self.children:
            self.query_one(PixelPicture).show(self.image)
        self._strips_key = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self.children and self.image is not None:  # drawn in pixels by the picture over it
            return Strip.blank(width, self.rich_style)
        key = (width, height, self.app.no_color)
        if key != self._strips_key:
            strips = self._render_strips(width)
            top = max(0, (height - len(strips)) // 2) if self.image is not None else 0
            self._strips = [Strip.blank(width, self.rich_style)] * top + strips
            self._strips_key = key
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, self.rich_style)

    def _render_strips(self, width: int) -> list[Strip]:
        if self.image is None:
            return note_strips(self.note, width)
        picture = resample(self.image, self._layout.scale)
        left = max(0, (width - picture.shape[1]) // 2)
        return place(image_strips(picture, mono=self.app.no_color), width, left, self.rich_style)
