"""One grayscale digit at the largest scale its box allows: in half blocks, or in real pixels where the app has
graphics (a :class:`~vae_tui.graphics.PixelPicture` then covers the view)."""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.strip import Strip
from textual.widget import Widget

from vae_tui.blocks import image_strips, place, resample
from vae_tui.graphics import PixelPicture, pixel_layer


def fit_scale(image_shape: tuple[int, int], width: int, height: int) -> float:
    """The largest whole enlargement of an image that fits ``width``×``height`` cells, else 0.5 (half size)."""
    rows, columns = -(-image_shape[0] // 2), image_shape[1]
    scale = min(width // columns, height // rows) if columns and rows else 0
    return float(scale) if scale >= 1 else 0.5


class DigitView(Widget):
    """Shows one image [H, W] in [0, 1], centred; an empty view until an image arrives."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.image: np.ndarray | None = None
        self._strips: list[Strip] = []
        self._strips_key: tuple | None = None

    def compose(self) -> ComposeResult:
        yield from pixel_layer(self.app)

    def show(self, image: np.ndarray | None) -> None:
        """Draw ``image`` (or nothing) from the next frame on."""
        self.image = image
        if self.children:
            self.query_one(PixelPicture).show(image)
            return
        self._strips_key = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self.children:  # drawn in pixels by the picture over it
            return Strip.blank(width, self.rich_style)
        key = (width, height)
        if self._strips_key != key:
            self._strips = self._render_strips(width, height)
            self._strips_key = key
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, self.rich_style)

    def _render_strips(self, width: int, height: int) -> list[Strip]:
        if self.image is None or width == 0 or height == 0:
            return []
        picture = resample(self.image, fit_scale(self.image.shape, width, height))
        strips = image_strips(picture, mono=self.app.no_color)
        left = max(0, (width - picture.shape[1]) // 2)
        top = max(0, (height - len(strips)) // 2)
        return [Strip.blank(width, self.rich_style)] * top + place(strips, width, left, self.rich_style)
