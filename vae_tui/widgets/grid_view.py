"""The n×n grid of digits decoded over [-range, range]², the cell nearest the cursor highlighted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from textual import events, work
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from vae_core.errors import VaeError
from vae_tui.blocks import image_strips, place, resample
from vae_tui.messages import CursorJump, WorkFailed

if TYPE_CHECKING:
    from vae_tui.session import Session

Point = tuple[float, float]
SIZE = Binding.Group("Size", compact=True)
RANGE = Binding.Group("Range", compact=True)
LEGIBLE_SCALE = 0.5
"""Digits drawn smaller than half size (14×7 cells) stop being recognisable, so the grid pans instead."""


@dataclass(frozen=True)
class GridWindow:
    """Which cells of the n×n grid are on screen, and at what scale."""

    scale: float
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


def grid_window(
    n: int, side: int, width: int, height: int, around: tuple[int, int] | None, previous: GridWindow | None = None
) -> GridWindow:
    """The largest scale at which the whole grid of ``side``-pixel digits fits; else half size, panned to ``around``.

    A window of the same shape as the ``previous`` one moves only as far as it must when the cell is next to it,
    as a list scrolls; otherwise (a jump, a resize, the first view) the cell is centred.
    """
    for scale in (3.0, 2.0, 1.0, LEGIBLE_SCALE):
        if n * side * scale <= width and n * side * scale / 2 <= height:
            return GridWindow(scale, 0, 0, n, n, n)
    cell_width, cell_height = int(side * LEGIBLE_SCALE), int(side * LEGIBLE_SCALE / 2)
    columns, rows = max(1, min(n, width // cell_width)), max(1, min(n, height // cell_height))
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
    return GridWindow(LEGIBLE_SCALE, first_row, first_column, rows, columns, n)


class GridView(Widget, can_focus=True):
    """The grid view; :attr:`image` is exactly what ``vae export-grid`` writes for the same n and range."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("comma,less_than_sign", "resize_grid(-1)", "Fewer digits", key_display="<", group=SIZE),
        Binding("full_stop,greater_than_sign", "resize_grid(1)", "More digits", key_display=">", group=SIZE),
        Binding("plus,equals_sign", "zoom(0.8)", "Narrower range", key_display="+", group=RANGE),
        Binding("minus", "zoom(1.25)", "Wider range", key_display="-", group=RANGE),
    ]

    cursor: reactive[Point] = reactive((0.0, 0.0))
    n: reactive[int] = reactive(15, init=False)
    extent: reactive[float] = reactive(2.0, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session: Session | None = None
        self.image: np.ndarray | None = None
        """The grid image for the settings shown, [28n, 28n]."""
        self.shown: tuple[int, float] | None = None
        """(n, extent) of the image on screen; it lags the settings while a decode runs."""
        self.window = GridWindow(1.0, 0, 0, 0, 0, 0)
        self._strips_key: tuple | None = None
        self._strips: list[Strip] = []

    @property
    def spacing(self) -> float:
        """The latent distance between neighbouring cells."""
        return 2 * self.extent / (self.n - 1) if self.n > 1 else 2 * self.extent

    def attach(self, session: Session) -> None:
        """Start drawing the grid of this session's model."""
        self.session = session
        self.decode()

    def action_resize_grid(self, change: int) -> None:
        if self.session is not None:
            self.n = min(max(self.n + change, 1), self.session.max_grid_side)

    def action_zoom(self, factor: float) -> None:
        self.extent = float(np.clip(round(self.extent * factor, 3), 0.1, 50.0))

    def watch_n(self) -> None:
        self.decode()

    def watch_extent(self) -> None:
        self.decode()

    def watch_cursor(self) -> None:
        self._place_window()

    def on_resize(self) -> None:
        self._place_window()

    @work(thread=True, exclusive=True, group="grid")
    def decode(self) -> None:
        """Decode the whole grid in one batch, off the event loop (a 100×100 grid takes a while)."""
        if self.session is None:
            return
        n, extent = self.n, self.extent
        try:
            image = self.session.grid(n, extent)
        except VaeError as error:
            self.post_message(WorkFailed(f"cannot draw the grid: {error}"))
            return
        self.app.call_from_thread(self._show, n, extent, image)

    def _show(self, n: int, extent: float, image: np.ndarray) -> None:
        if (n, extent) != (self.n, self.extent):
            return
        self.image, self.shown = image, (n, extent)
        self.border_title = f"Grid {n}×{n} over ±{extent:g}"
        self._place_window()

    @property
    def _side(self) -> int:
        """The side of one digit in pixels."""
        return self.image.shape[0] // self.shown[0] if self.image is not None and self.shown else 28

    def _place_window(self) -> None:
        """Choose the cells on screen for this size and cursor, and say so where the grid does not fit."""
        if self.shown is None:
            return
        n, extent = self.shown
        cell = grid_cell(self.cursor, n, extent)
        self.window = window = grid_window(n, self._side, *self.size, cell, self.window)
        self.border_subtitle = (
            ""
            if window.complete
            else f"rows {window.first_row + 1}–{window.first_row + window.rows}, "
            f"columns {window.first_column + 1}–{window.first_column + window.columns} of {n}: move to pan"
        )
        self.refresh()

    @property
    def _left(self) -> int:
        """Blank columns before the first cell, centring the grid."""
        return max(0, (self.size.width - int(self.window.columns * self._side * self.window.scale)) // 2)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or self.image is None:
            return
        window, left = self.window, self._left
        cell_width, cell_height = self._side * window.scale, self._side * window.scale / 2
        column, row = int((offset.x - left) // cell_width), int(offset.y // cell_height)
        if offset.x >= left and column < window.columns and row < window.rows:
            self.post_message(CursorJump(self.point_of(window.first_row + row, window.first_column + column)))

    def point_of(self, row: int, column: int) -> Point:
        """The latent point decoded in a cell."""
        return -self.extent + column * self.spacing, self.extent - row * self.spacing

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        key = (width, height, self.shown, self.window, self.cursor, self.app.no_color)
        if key != self._strips_key:
            self._strips = self._render_strips(width)
            self._strips_key = key
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, self.rich_style)

    def _render_strips(self, width: int) -> list[Strip]:
        if self.image is None or self.shown is None:
            return []
        n, extent = self.shown
        window, side = self.window, self._side
        top, bottom = window.first_row * side, (window.first_row + window.rows) * side
        start, stop = window.first_column * side, (window.first_column + window.columns) * side
        picture = resample(self.image[top:bottom, start:stop], window.scale)
        cell_width, cell_height = int(side * window.scale), int(side * window.scale / 2)
        highlight = np.zeros((picture.shape[0] // 2, picture.shape[1]), dtype=bool)
        cell = grid_cell(self.cursor, n, extent)
        if cell is not None:
            row, column = cell[0] - window.first_row, cell[1] - window.first_column
            if 0 <= row < window.rows and 0 <= column < window.columns:
                top, left = row * cell_height, column * cell_width
                highlight[top : top + cell_height, left : left + cell_width] = True
        strips = image_strips(picture, mono=self.app.no_color, highlight=highlight)
        return place(strips, width, self._left, self.rich_style)
