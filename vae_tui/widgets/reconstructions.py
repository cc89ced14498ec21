"""Test digits above their reconstructions, as many as fit across; a key draws a new random set."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widget import Widget

from vae_tui.blocks import image_strips, place, resample

if TYPE_CHECKING:
    from vae_tui.session import Session

MAX_SHOWN = 20
SIDE = 28
"""Pixels on a side of one test digit (the MNIST format)."""
NOTE_STYLE = Style(italic=True)


def reconstruction_layout(width: int, height: int) -> tuple[float, int]:
    """(scale, how many pairs) for a box: full-size digits where three pairs fit, else half size."""
    scale = 1.0 if height >= SIDE and width >= 3 * SIDE else 0.5
    return scale, max(1, min(MAX_SHOWN, int(width // (SIDE * scale))))


class ReconstructionView(Widget, can_focus=True):
    """The reconstructions view; :attr:`image` is the picture on screen at full resolution, for export."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("n", "new_set", "New digits")]

    def __init__(self, seed: int = 0, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session: Session | None = None
        self.note = ""
        self.image: np.ndarray | None = None
        self._rng = np.random.default_rng(seed)
        self._order = np.zeros(0, dtype=np.int64)
        self._count = 0
        self._strips: list[Strip] = []
        self._strips_key: tuple | None = None

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
        if reconstruction_layout(*self.size)[1] != self._count:
            self._reconstruct()

    def _reconstruct(self) -> None:
        """Reconstruct the first digits of the current order, as many as fit."""
        self._count = reconstruction_layout(*self.size)[1]
        chosen = self._order[: self._count]
        if self.session is None or self.session.digits is None or len(chosen) == 0:
            self.image = None
            self.border_title = "Reconstructions"
        else:
            self.image = self.session.reconstructions(chosen)
            labels = " ".join(str(int(self.session.digits.labels[i])) for i in chosen)
            self.border_title = f"Test digits {labels} (top) and their reconstructions"
        self._strips_key = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        key = (width, height, self.app.no_color)
        if key != self._strips_key:
            self._strips = self._render_strips(width, reconstruction_layout(width, height)[0])
            self._strips_key = key
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, self.rich_style)

    def _render_strips(self, width: int, scale: float) -> list[Strip]:
        if self.image is None:
            lines = textwrap.wrap(self.note, max(10, width - 2))
            return [Strip([Segment(line, NOTE_STYLE)]).crop(0, width) for line in lines]
        picture = resample(self.image, scale)
        left = max(0, (width - picture.shape[1]) // 2)
        return place(image_strips(picture, mono=self.app.no_color), width, left, self.rich_style)
