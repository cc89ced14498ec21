"""Real pixels where the terminal draws them: which protocol (Kitty's, Sixel, or none) and the widget that draws.

textual-image asks the terminal what it can draw when it is first imported: it writes queries and reads the answers
from stdin. So it is imported here only, only where pixels may be drawn, and before the app runs (once Textual reads
stdin, the answers would be taken for key presses). Under tmux, in the Linux console and off a terminal, ``auto``
means cells without asking; a forced protocol is used as asked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from PIL import Image
from textual.app import ComposeResult
from textual.geometry import Offset
from textual.widget import Widget

from vae_core.errors import VaeError
from vae_tui.blocks import HIGHLIGHT_DARK, area_resize, to_levels
from vae_tui.sixel import image_to_sixels

MODES = ("auto", "kitty", "sixel", "cells")
CELLS_ONLY_TERMS = ("linux", "screen", "tmux", "dumb")
"""TERM values (or their prefixes) that ``auto`` draws in cells: consoles and multiplexers pass no images on."""


def wanted_protocol(mode: str, environ: Mapping[str, str], is_terminal: bool) -> str:
    """What ``--graphics MODE`` asks for here: ``kitty``, ``sixel``, ``cells``, or ``detect`` (ask the terminal)."""
    if mode not in MODES:
        raise VaeError(f"unknown graphics mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode != "auto":
        return mode
    if not is_terminal or "TMUX" in environ or environ.get("TERM", "").startswith(CELLS_ONLY_TERMS):
        return "cells"
    return "detect"


@dataclass(frozen=True)
class Graphics:
    """The protocol the explorer draws its digits with, the textual-image widget for it, and a cell's pixels."""

    protocol: str
    image_widget: type[Widget]
    cell_pixels: tuple[int, int]
    """(width, height) of one terminal cell in pixels, as the terminal reports it (10×20 where it does not)."""


def graphics_of(app: object) -> Graphics | None:
    """The graphics an app draws its pictures with: its ``graphics`` attribute, None (cells) where it has none."""
    return getattr(app, "graphics", None)


def pixel_layer(app: object) -> list[PixelPicture]:
    """What a view composes to draw in pixels: a :class:`PixelPicture` where the app has graphics, else nothing."""
    graphics = graphics_of(app)
    return [] if graphics is None else [PixelPicture(graphics)]


def choose_graphics(mode: str, environ: Mapping[str, str] = os.environ) -> Graphics | None:
    """The graphics for ``--graphics MODE``, or None for cells. Call before the app runs (see the module's note)."""
    is_terminal = sys.__stdout__ is not None and sys.__stdout__.isatty()
    wanted = wanted_protocol(mode, environ, is_terminal)
    if wanted == "cells":
        return None
    from textual_image import renderable  # asks the terminal (Sixel in the DA1 answer, then Kitty's query)
    from textual_image._terminal import get_cell_size

    if wanted == "detect":
        detected = {renderable.SixelImage: "sixel", renderable.TGPImage: "kitty"}
        wanted = detected.get(renderable.Image, "cells")
        if wanted == "cells":
            return None
    cell = get_cell_size()
    image_widget = sixel_image_widget() if wanted == "sixel" else kitty_image_widget()
    return Graphics(wanted, image_widget, (cell.width, cell.height))


# textual-image's widgets replace a picture through their ``image`` property, which asks for a layout pass (and, for
# Sixel, mounts a new encoder widget); here every picture fills a widget of fixed size, so ``show`` only repaints.
# Remounting on every move also cost time and, in Textual 8, left the explorer's other labels drawn in their
# background colour (their cached style was taken while the new widget's styles were being applied).


def sixel_image_widget() -> type[Widget]:
    """textual-image's Sixel widget, encoding with :func:`vae_tui.sixel.image_to_sixels` (some 20 times quicker on
    our pictures, and it selects each colour register as xterm needs)."""
    from textual_image.widget import SixelImage
    from textual_image.widget.sixel import _ImageSixelImpl, _NoopRenderable

    class FastSixels(_ImageSixelImpl):
        def _image_to_sixels(self, image, sixel_options=None, background=None) -> str:
            return image_to_sixels(image)

    class XtermSafeSixelImage(SixelImage, Renderable=_NoopRenderable):
        def compose(self) -> ComposeResult:
            yield FastSixels(self.image, self._sixel_options)

        def show(self, image: Image.Image | None) -> None:
            self._image = image
            for encoder in self.query(FastSixels):
                encoder.image = image
                encoder.refresh()

    return XtermSafeSixelImage


def kitty_image_widget() -> type[Widget]:
    """textual-image's widget for Kitty's protocol (Unicode placeholders: kitty 0.28 or later)."""
    from textual_image.renderable.tgp import Image as KittyRenderable
    from textual_image.widget import TGPImage

    class KittyImage(TGPImage, Renderable=KittyRenderable):
        def show(self, image: Image.Image | None) -> None:
            self._image = image
            self.refresh()

    return KittyImage


@dataclass(frozen=True)
class Placement:
    """Where a picture sits on its canvas: ``scale`` canvas pixels per picture pixel, its top-left corner at
    (``left``, ``top``)."""

    left: int
    top: int
    scale: float
    width: int
    height: int


def fit_picture(
    picture: np.ndarray, width: int, height: int, highlight: np.ndarray | None = None
) -> tuple[Image.Image, Placement]:
    """A grayscale picture [H, W] in [0, 1] on a black ``width``×``height`` canvas, centred, as large as fits.

    It grows by a whole factor with nearest neighbours (sharp pixels), or shrinks by area averaging where it is
    larger than the canvas. The canvas is exactly the size textual-image draws at, so it does not scale it again.
    ``highlight`` (bool [H, W]) tints those pixels as the half-block views do.
    """
    rows, columns = picture.shape
    fit = min(width / columns, height / rows)
    scale = float(int(fit)) if fit >= 1 else fit
    new_width, new_height = max(1, round(columns * scale)), max(1, round(rows * scale))
    if scale >= 1:
        levels = to_levels(picture).repeat(int(scale), axis=0).repeat(int(scale), axis=1)
        marks = None if highlight is None else highlight.repeat(int(scale), axis=0).repeat(int(scale), axis=1)
    else:
        levels = to_levels(area_resize(picture, new_height, new_width))
        marks = None if highlight is None else area_resize(highlight.astype(float), new_height, new_width) >= 0.5
    if marks is None:
        tile = Image.fromarray(levels)
    else:  # black turns HIGHLIGHT_DARK, white stays white, as blocks draws a highlighted cell
        dark = np.asarray(HIGHLIGHT_DARK, dtype=np.float32)
        tinted = np.rint(dark + (255 - dark) * (levels[..., None] / 255)).astype(np.uint8)
        tile = Image.fromarray(np.where(marks[..., None], tinted, levels[..., None].repeat(3, axis=2)))
    canvas = Image.new(tile.mode, (width, height))
    placement = Placement((width - new_width) // 2, (height - new_height) // 2, scale, new_width, new_height)
    canvas.paste(tile, (placement.left, placement.top))
    return canvas, placement


class PixelPicture(Widget):
    """A grayscale picture in real pixels, filling this widget: see :func:`fit_picture`. Hidden while empty, so the
    half-block view under it (a note, say) shows."""

    DEFAULT_CSS = "PixelPicture { width: 100%; height: 100%; }"

    def __init__(self, graphics: Graphics) -> None:
        super().__init__()
        self.graphics = graphics
        self.picture: np.ndarray | None = None
        self.highlight: np.ndarray | None = None
        self.placement: Placement | None = None
        self.display = False

    def compose(self) -> ComposeResult:
        image = self.graphics.image_widget()
        image.styles.width = image.styles.height = "100%"
        yield image

    def show(self, picture: np.ndarray | None, highlight: np.ndarray | None = None) -> None:
        """Draw ``picture`` (None: nothing, and hide) from the next frame on."""
        self.picture, self.highlight = picture, highlight
        self.display = picture is not None
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def on_mount(self) -> None:
        self._draw()

    def _draw(self) -> None:
        columns, rows = self.size
        if not self.is_mounted or not self.children:
            return
        image = self.children[0]
        if self.picture is None or columns == 0 or rows == 0:
            self.placement = None
            image.show(None)
            return
        width, height = columns * self.graphics.cell_pixels[0], rows * self.graphics.cell_pixels[1]
        canvas, self.placement = fit_picture(self.picture, width, height, self.highlight)
        image.show(canvas)

    def pixel_at(self, offset: Offset) -> tuple[int, int] | None:
        """(x, y) of the picture's pixel under the centre of the cell at ``offset`` (in this widget), or None."""
        placement = self.placement
        if placement is None:
            return None
        cell_width, cell_height = self.graphics.cell_pixels
        x = ((offset.x + 0.5) * cell_width - placement.left) / placement.scale
        y = ((offset.y + 0.5) * cell_height - placement.top) / placement.scale
        if not (0 <= x < placement.width / placement.scale and 0 <= y < placement.height / placement.scale):
            return None
        return int(x), int(y)
