"""The n×n grid of digits decoded over [-range, range]², the cell nearest the cursor highlighted.

In half blocks it shows what fits (the whole grid shrunk, or legible cells that pan); where the app has graphics it
shows the whole grid in real pixels (15×15 at full resolution fits a 120×40 terminal).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from vae_tui.blocks import area_resize, image_strips, place, resample
from vae_tui.geometry import SIDE, Point
from vae_tui.graphics import PixelPicture, pixel_layer
from vae_tui.messages import CursorJump, GridDecoded, PointerMoved, failure, outcome

if TYPE_CHECKING:
    from vae_tui.session import Session

LEGIBLE_CELL = SIDE // 2
"""When panning, digits stay at least half size (14 pixels, 14×7 cells): smaller ones stop being recognisable."""
LARGEST_SCALE = 3
MIN_N = 2


@dataclass(frozen=True)
class GridWindow:
    """Which cells of the n×n grid are on screen, and how many pixels (half-block rows count two) a digit takes.

    ``cell`` is a whole multiple of 28 for enlarged digits, or any size below it for shrunk ones (area-averaged,
    so a 15×15 grid fills 72 pixel rows with digits 4.8 pixels tall).
    """

    cell: float
    first_row: int
    first_column: int
    rows: int
    columns: int
    n: int

    @property
    def complete(self) -> bool:
        return self.rows == self.n and self.columns == self.n


def grid_cell(point: Point, n: int, extent: float) -> tuple[int, int] | None:
    """(row, column) of the grid point nearest ``point``, or None where the point lies off the grid."""
    spacing = 2 * extent / (n - 1) if n > 1 else 2 * extent
    column = round((point[0] + extent) / spacing) if n > 1 else 0
    row = round((extent - point[1]) / spacing) if n > 1 else 0
    if abs(point[0]) > extent + spacing / 2 or abs(point[1]) > extent + spacing / 2:
        return None
    return min(max(row, 0), n - 1), min(max(column, 0), n - 1)


def whole_grid(n: int, width: int, height: int) -> GridWindow:
    """All n×n digits in ``width``×``height`` cells: enlarged by a whole factor where they fit, else shrunk to fit."""
    fit = max(1.0, min(width, 2 * height) / n)
    cell = SIDE * min(int(fit // SIDE), LARGEST_SCALE) if fit >= SIDE else fit
    return GridWindow(cell, 0, 0, n, n, n)


def cursor_highlight(
    shape: tuple[int, int], window: GridWindow, cell: tuple[int, int] | None, cell_size: float
) -> np.ndarray:
    """A bool mask over the picture of the window's cells (``cell_size`` pixels each), True on the cursor's cell."""
    highlight = np.zeros(shape, dtype=bool)
    if cell is not None:
        row, column = cell[0] - window.first_row, cell[1] - window.first_column
        if 0 <= row < window.rows and 0 <= column < window.columns:
            rows = slice(round(row * cell_size), round((row + 1) * cell_size))
            highlight[rows, round(column * cell_size) : round((column + 1) * cell_size)] = True
    return highlight


def grid_window(
    n: int, width: int, height: int, around: tuple[int, int] | None, previous: GridWindow | None = None
) -> GridWindow:
    """The whole grid where its digits fit at full size or larger; else half-size digits, panned to ``around``.

    A window of the same shape as the ``previous`` one moves only as far as it must when the cell is next to it,
    as a list scrolls; otherwise (a jump, a resize, the first view) the cell is centred.
    """
    whole = whole_grid(n, width, height)
    if whole.cell >= SIDE:
        return whole
    columns, rows = max(1, min(n, width // LEGIBLE_CELL)), max(1, min(n, 2 * height // LEGIBLE_CELL))
    row, column = around if around is not None else (n // 2, n // 2)
    same_shape = previous is not None and (previous.n, previous.rows, previous.columns) == (n, rows, columns)
    if same_shape and (
        previous.first_row - 1 <= row <= previous.first_row + rows
        and previous.first_column - 1 <= column <= previous.first_column + columns
    ):
        first_row = min(max(previous.first_row, row - rows + 1), row)
        first_column = min(max(previous.first_column, column - columns + 1), column)
    elif same_shape and around is None:
        first_row, first_column = previous.first_row, previous.first_column
    else:
        first_row, first_column = row - rows // 2, column - columns // 2
    first_row, first_column = min(max(first_row, 0), n - rows), min(max(first_column, 0), n - columns)
    return GridWindow(LEGIBLE_CELL, first_row, first_column, rows, columns, n)


class GridView(Widget, can_focus=True):
    """The grid view; :attr:`image` is exactly what ``vae export-grid`` writes for the same n and range.

    It shows the whole grid, each digit area-averaged down to what the panel allows, or (``f``) digits at full size
    or half size that pan with the cursor. The pointer posts :class:`PointerMoved`, a click :class:`CursorJump`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("comma,less_than_sign", "resize_grid(-1)", "Fewer digits", key_display="<", show=False),
        Binding("full_stop,greater_than_sign", "resize_grid(1)", "More digits", key_display=">", show=False),
        Binding("plus,equals_sign", "zoom(0.8)", "Narrower range", key_display="+", show=False),
        Binding("minus", "zoom(1.25)", "Wider range", key_display="-", show=False),
        Binding("f", "toggle_whole", "Whole grid or full-size cells", show=False),
    ]

    cursor: reactive[Point] = reactive((0.0, 0.0))
    n: reactive[int] = reactive(15, init=False)
    extent: reactive[float] = reactive(2.0, init=False)
    whole: reactive[bool] = reactive(True, init=False)
    """All n×n digits at once (shrunk where needed), or legible digits that pan."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session: Session | None = None
        self.image: np.ndarray | None = None
        """The grid image for the settings shown, [28n, 28n]."""
        self.shown: tuple[int, float] | None = None
        """(n, extent) of the image on screen; it lags the settings while a decode runs."""
        self.window = GridWindow(SIDE, 0, 0, 0, 0, 0)
        self._strips_key: tuple | None = None
        self._strips: list[Strip] = []
        self._placed_for: tuple[int, int] | None = None
        """The size the window was chosen for: a view shown by the switcher may be drawn before it hears its size."""

    def compose(self) -> ComposeResult:
        yield from pixel_layer(self.app)

    @property
    def spacing(self) -> float:
        """The latent distance between neighbouring cells."""
        return 2 * self.extent / (self.n - 1)

    def attach(self, session: Session) -> None:
        """Start drawing the grid of this session's model."""
        self.session = session
        self.decode()

    def action_resize_grid(self, change: int) -> None:
        if self.session is not None:
            self.n = min(max(self.n + change, MIN_N), self.session.max_grid_side)

    def action_zoom(self, factor: float) -> None:
        self.extent = float(np.clip(round(self.extent * factor, 3), 0.1, 50.0))

    def action_toggle_whole(self) -> None:
        self.whole = not self.whole

    def watch_n(self) -> None:
        self.decode()

    def watch_extent(self) -> None:
        self.decode()

    def watch_whole(self) -> None:
        self._place_window()

    def watch_cursor(self) -> None:
        self._place_window()

    def on_resize(self) -> None:
        self._place_window()

    @work(thread=True, exclusive=True, group="grid")
    def decode(self) -> None:
        """Decode the whole grid in one batch, off the event loop (a 100×100 grid takes a while)."""
        if self.session is None:
            return
        n, extent, session = self.n, self.extent, self.session
        done = partial(GridDecoded, n, extent)
        self.post_message(outcome(lambda: session.grid(n, extent), done, partial(failure, "cannot draw the grid")))

    def on_grid_decoded(self, message: GridDecoded) -> None:
        message.stop()
        if (message.n, message.extent) != (self.n, self.extent):
            return
        self.image, self.shown = message.image, (message.n, message.extent)
        self._place_window()

    def _place_window(self) -> None:
        """Choose the cells on screen for this size and cursor; the title says where the cursor is off the grid."""
        if self.shown is None:
            return
        self._placed_for = (self.size.width, self.size.height)
        n, extent = self.shown
        cell = grid_cell(self.cursor, n, extent)
        if self.children:  # in pixels: always the whole grid, at full resolution where it fits
            self.window = window = GridWindow(SIDE, 0, 0, n, n, n)
            highlight = cursor_highlight(self.image.shape, window, cell, SIDE)
            self.query_one(PixelPicture).show(self.image, highlight)
        elif self.whole:
            self.window = window = whole_grid(n, *self.size)
        else:
            self.window = window = grid_window(n, *self.size, cell, self.window)
        outside = "" if cell is not None else f" · cursor ({self.cursor[0]:+.2f}, {self.cursor[1]:+.2f}) is outside"
        self.border_title = f"Grid {n}×{n} over ±{extent:g}{outside}"
        self.border_subtitle = (
            "<> digits · +- range"
            if self.children
            else "f full-size · <> digits · +- range"
            if window.complete
            else f"rows {window.first_row + 1}–{window.first_row + window.rows}, "
            f"columns {window.first_column + 1}–{window.first_column + window.columns} of {n}: move to pan · f whole"
        )
        self.refresh()

    @property
    def _left(self) -> int:
        """Blank columns before the first cell, centring the grid."""
        return max(0, (self.size.width - round(self.window.columns * self.window.cell)) // 2)

    def cell_at(self, event: events.MouseEvent) -> tuple[int, int] | None:
        """(row, column) of the grid cell under the pointer, or None off the cells."""
        if self.children and self.image is not None:
            # From the screen: an event that bubbled up from the picture counts its offset from the picture.
            picture = self.query_one(PixelPicture)
            pixel = picture.pixel_at(event.screen_offset - picture.region.offset)
            return None if pixel is None else (pixel[1] // SIDE, pixel[0] // SIDE)
        offset = event.get_content_offset(self)
        if offset is None or self.image is None or offset.x < self._left:
            return None
        window = self.window
        # A text row holds two pixel rows; its lower one decides, so odd-sized cells split rows evenly.
        column, row = int((offset.x - self._left) // window.cell), int((2 * offset.y + 1) // window.cell)
        if column >= window.columns or row >= window.rows:
            return None
        return window.first_row + row, window.first_column + column

    def on_mouse_move(self, event: events.MouseMove) -> None:
        cell = self.cell_at(event)
        self.post_message(PointerMoved(None if cell is None else self.point_of(*cell)))

    def on_leave(self, event: events.Leave) -> None:
        self.post_message(PointerMoved(None))

    def on_click(self, event: events.Click) -> None:
        cell = self.cell_at(event)
        if cell is not None:
            self.post_message(CursorJump(self.point_of(*cell)))

    def point_of(self, row: int, column: int) -> Point:
        """The latent point decoded in a cell."""
        return -self.extent + column * self.spacing, self.extent - row * self.spacing

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self.children:  # drawn in pixels by the picture over it
            return Strip.blank(width, self.rich_style)
        if self._placed_for != (width, height):
            self._place_window()
        key = (width, height, self.shown, self.window, self.cursor, self.app.no_color)
        if key != self._strips_key:
            self._strips = self.grid_strips(width)
            self._strips_key = key
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, self.rich_style)

    def grid_strips(self, width: int) -> list[Strip]:
        """The cells of the window as strips ``width`` cells wide, the cursor's cell tinted."""
        if self.image is None or self.shown is None:
            return []
        n, extent = self.shown
        window, cell_size = self.window, self.window.cell
        top, bottom = window.first_row * SIDE, (window.first_row + window.rows) * SIDE
        start, stop = window.first_column * SIDE, (window.first_column + window.columns) * SIDE
        crop = self.image[top:bottom, start:stop]
        if cell_size >= SIDE:
            picture = resample(crop, int(cell_size // SIDE))
        else:
            picture = area_resize(crop, round(window.rows * cell_size), round(window.columns * cell_size))
        highlight = cursor_highlight(picture.shape, window, grid_cell(self.cursor, n, extent), cell_size)
        strips = image_strips(picture, mono=self.app.no_color, highlight=highlight)
        return place(strips, width, self._left, self.rich_style)
