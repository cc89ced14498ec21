"""The side panel: the digit decoded at the cursor, the nearest real test digit, and the marks A and B."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from vae_tui.widgets.digit_view import DigitView

if TYPE_CHECKING:
    from vae_tui.session import Nearest

Point = tuple[float, float]


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

    def on_mount(self) -> None:
        self._nearest_text = ""
        self._marks_text = ""

    def show_decoded(self, point: Point, image: np.ndarray) -> None:
        """The digit decoded at ``point``."""
        self.query_one("#decoded-title", Static).update(f"Decoded at {format_point(point)}")
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
        self.query_one("#nearest-info", Static).update(f"{self._nearest_text}\n{self._marks_text}".strip())
