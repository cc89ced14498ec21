"""The side panel: the digit decoded at the cursor, the nearest real test digit, and the marks A and B."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from vae_tui.geometry import SIDE, Point
from vae_tui.widgets.digit_view import DigitView

if TYPE_CHECKING:
    from vae_tui.session import Nearest

INFO_WIDTH = 14
"""Columns beside the nearest digit for its label, its distance and the marks."""
VIEW_SHARE = 0.5
"""The view beside the panel keeps at least this share of the terminal's width (the grid view asks for more)."""


@dataclass(frozen=True)
class PanelLayout:
    """How big the side panel and its two digits are, in cells; digits scale by whole factors (or half size)."""

    width: int
    decoded_scale: float
    nearest_scale: float


def panel_layout(width: int, height: int, view_share: float = VIEW_SHARE) -> PanelLayout:
    """The largest decoded digit that leaves the view its share of the width, the largest nearest digit under it.

    ``width``×``height`` is the whole terminal; the status line and the footer take a row each, the panel's title
    one more, and its padding two columns.
    """
    rows = height - 3
    for decoded in (4, 3, 2, 1):
        panel = SIDE * decoded + 2
        if panel > width * (1 - view_share):
            continue
        for nearest in (decoded - 1, 1, 0.5):
            fits_across = SIDE * nearest + INFO_WIDTH <= panel - 2
            if nearest > 0 and fits_across and SIDE * (decoded + nearest) // 2 <= rows:
                return PanelLayout(panel, decoded, nearest)
    return PanelLayout(SIDE + 2, 1, 0.5)


def format_point(point: Point) -> str:
    return f"({point[0]:+.2f}, {point[1]:+.2f})"


class DigitPanel(Vertical):
    """Attributes flow in through :meth:`show_decoded`, :meth:`show_nearest` and :meth:`show_marks`."""

    def compose(self) -> ComposeResult:
        yield Static(id="decoded-title")
        yield DigitView(id="decoded")
        with Horizontal(id="nearest-row"):
            yield DigitView(id="nearest")
            yield Static(id="nearest-info")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._nearest_text = ""
        self._marks_text = ""

    def fit(self, width: int, height: int, view_share: float = VIEW_SHARE) -> None:
        """Size the panel and its digits for a ``width``×``height`` terminal (see :func:`panel_layout`)."""
        layout = panel_layout(width, height, view_share)
        self.styles.width = layout.width
        self.query_one("#decoded").styles.height = int(SIDE * layout.decoded_scale) // 2
        self.query_one("#nearest-row").styles.height = int(SIDE * layout.nearest_scale) // 2
        self.query_one("#nearest").styles.width = int(SIDE * layout.nearest_scale)

    def show_decoded(self, point: Point, image: np.ndarray) -> None:
        """The digit decoded at ``point``."""
        # Without a layout pass: the panel's parts have fixed sizes, and a layout per move cost ~10 ms a frame.
        self.query_one("#decoded-title", Static).update(f"Decoded at {format_point(point)}", layout=False)
        self.query_one("#decoded", DigitView).show(image)

    def show_nearest(self, nearest: Nearest | None) -> None:
        """The nearest test digit and its label (None where there are no test digits)."""
        self.query_one("#nearest", DigitView).show(None if nearest is None else nearest.image)
        self._nearest_text = (
            "No test\ndigits"
            if nearest is None
            else f"Nearest test\ndigit: [b]{nearest.label}[/b]\nΔ {nearest.distance:.2f} away"
        )
        self._update_info()

    def show_marks(self, marks: dict[str, Point]) -> None:
        """Where A and B are, or how to set them."""
        lines = [f"{name} {format_point(point)}" for name, point in sorted(marks.items())]
        self._marks_text = "\n".join(lines) if lines else "a, b: mark"
        self._update_info()

    def _update_info(self) -> None:
        info = f"{self._nearest_text}\n{self._marks_text}".strip()
        self.query_one("#nearest-info", Static).update(info, layout=False)
