"""The latent plane: the test digits' latent means as label-coloured braille dots, the axes, A, B and the cursor."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from textual import events
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from vae_tui.blocks import braille_cells, map_strips, note_strips
from vae_tui.geometry import Point
from vae_tui.messages import CursorJump, PointerMoved
from vae_tui.palette import LabelPalette, color_mode, label_palette

ZOOM_FACTOR = 1.25
FULL_LEGEND_WIDTH = 44
"""Below this width the legend shows the ten digits in their colours, without the dots between them."""


@dataclass(frozen=True)
class Viewport:
    """The part of the plane on show: its centre and the half-span of its shorter side, in latent units."""

    center: Point = (0.0, 0.0)
    span: float = 3.0

    def unit(self, width: int, height: int) -> float:
        """Latent units per braille dot; dots are square, so x and y share it."""
        return 2 * self.span / max(1, min(2 * width, 4 * height))

    def bounds(self, width: int, height: int) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) of what ``width``×``height`` cells show."""
        unit = self.unit(width, height)
        half_x, half_y = width * unit, 2 * height * unit
        return self.center[0] - half_x, self.center[0] + half_x, self.center[1] - half_y, self.center[1] + half_y

    def to_dots(self, points: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Latent points [N, 2] → braille-dot (column, row) coordinates, y pointing up."""
        x_min, _, _, y_max = self.bounds(width, height)
        unit = self.unit(width, height)
        return (points[:, 0] - x_min) / unit, (y_max - points[:, 1]) / unit

    def to_cell(self, point: Point, width: int, height: int) -> tuple[int, int]:
        """The (row, column) of the cell holding ``point`` (possibly outside the map)."""
        x_min, _, _, y_max = self.bounds(width, height)
        unit = self.unit(width, height)
        return math.floor((y_max - point[1]) / unit / 4), math.floor((point[0] - x_min) / unit / 2)

    def cell_center(self, row: int, column: int, width: int, height: int) -> Point:
        """The latent point at the middle of a cell."""
        x_min, _, _, y_max = self.bounds(width, height)
        unit = self.unit(width, height)
        return x_min + (2 * column + 1) * unit, y_max - (4 * row + 2) * unit

    def following(self, point: Point, width: int, height: int) -> Viewport:
        """This viewport shifted just enough that ``point`` lies inside, a cell away from the edges."""
        x_min, x_max, y_min, y_max = self.bounds(width, height)
        unit = self.unit(width, height)
        margin_x, margin_y = min(2 * unit, (x_max - x_min) / 2), min(4 * unit, (y_max - y_min) / 2)
        shift_x = min(0.0, point[0] - (x_min + margin_x)) + max(0.0, point[0] - (x_max - margin_x))
        shift_y = min(0.0, point[1] - (y_min + margin_y)) + max(0.0, point[1] - (y_max - margin_y))
        if shift_x == 0 and shift_y == 0:
            return self
        return replace(self, center=(self.center[0] + shift_x, self.center[1] + shift_y))

    def zoomed(self, factor: float, anchor: Point) -> Viewport:
        """Zoomed in by ``factor`` (out where below 1), keeping ``anchor`` where it is on screen."""
        center = tuple(a + (c - a) / factor for c, a in zip(self.center, anchor, strict=True))
        return Viewport(center=center, span=self.span / factor)


class LatentMap(Widget, can_focus=True):
    """The map view. Attributes flow in (cursor, marks, digits); the pointer posts :class:`PointerMoved`, a click
    :class:`CursorJump`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus,equals_sign", "zoom(1.25)", "Zoom in", key_display="+", show=False),
        Binding("minus", "zoom(0.8)", "Zoom out", key_display="-", show=False),
    ]

    cursor: reactive[Point] = reactive((0.0, 0.0))
    marks: reactive[dict[str, Point]] = reactive(dict, always_update=True)
    viewport: reactive[Viewport] = reactive(Viewport)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.means = np.zeros((0, 2), dtype=np.float32)
        self.labels = np.zeros(0, dtype=np.int64)
        self.note = ""
        self._base_key: tuple | None = None
        self._base: list[Strip] = []
        self._cells: tuple[np.ndarray, np.ndarray] | None = None
        self._axes: tuple[int | None, int | None] = (None, None)
        self._note_rows: range = range(0)
        self._marks: dict[int, dict[int, str]] = {}
        self._marks_key: tuple | None = None

    @property
    def palette(self) -> LabelPalette:
        """The label colours for the terminal's colour depth."""
        return label_palette(color_mode(self.app))

    def set_digits(self, means: np.ndarray, labels: np.ndarray, note: str = "") -> None:
        """Plot latent means [N, 2] in their label's colour; ``note`` shows over the map."""
        self.means, self.labels, self.note = means, labels, note
        self._base_key = None
        self._write_legend()
        self.refresh()

    def _write_legend(self) -> None:
        """The ten labels in their colours: "●0 ●1 …" where it fits, else the digits alone in their colours."""
        colors = enumerate(self.palette.colors)
        if self.size.width >= FULL_LEGEND_WIDTH:
            self.border_subtitle = " ".join(f"[rgb({r},{g},{b})]●[/]{digit}" for digit, (r, g, b) in colors)
        else:
            self.border_subtitle = "".join(f"[rgb({r},{g},{b})]{digit}[/]" for digit, (r, g, b) in colors)

    def show_note(self, note: str) -> None:
        """Say something over the map (loading, no data) without changing the dots."""
        self.note = note
        self._base_key = None
        self.refresh()

    def reset_view(self) -> None:
        """Back to the default range, centred on the origin."""
        self.viewport = Viewport()

    def action_zoom(self, factor: float) -> None:
        self.viewport = self.viewport.zoomed(factor, self.cursor)

    def validate_viewport(self, viewport: Viewport) -> Viewport:
        return replace(viewport, span=float(np.clip(viewport.span, 0.05, 50.0)))

    def watch_cursor(self, cursor: Point) -> None:
        self.viewport = self.viewport.following(cursor, *self.size)

    def watch_viewport(self, viewport: Viewport) -> None:
        x_min, x_max, y_min, y_max = viewport.bounds(*self.size)
        self.border_title = f"Latent map  x {x_min:+.2f}…{x_max:+.2f}  y {y_min:+.2f}…{y_max:+.2f}"

    def on_resize(self, event: events.Resize) -> None:
        self.viewport = self.viewport.following(self.cursor, *self.size)
        self.watch_viewport(self.viewport)
        self._write_legend()

    def point_at(self, event: events.MouseEvent) -> Point | None:
        """The latent point under the pointer, or None off the map's content."""
        offset = event.get_content_offset(self)
        return None if offset is None else self.viewport.cell_center(offset.y, offset.x, *self.size)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self.post_message(PointerMoved(self.point_at(event)))

    def on_leave(self, event: events.Leave) -> None:
        self.post_message(PointerMoved(None))

    def on_click(self, event: events.Click) -> None:
        point = self.point_at(event)
        if point is not None:
            self.post_message(CursorJump(point))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.action_zoom(ZOOM_FACTOR)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.action_zoom(1 / ZOOM_FACTOR)

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        self._ensure_base(width, height)
        if y >= len(self._base):
            return Strip.blank(width, self.rich_style)
        if y in self._note_rows:
            return self._base[y]
        marks = self._mark_cells(width, height).get(y)
        if not marks:
            return self._base[y]
        codes, majority = self._cells
        return map_strips(
            codes[y : y + 1],
            majority[y : y + 1],
            self.palette,
            (0 if self._axes[0] == y else None, self._axes[1]),
            {(0, column): text for column, text in marks.items()},
            mono=self.app.no_color,
        )[0]

    def _mark_cells(self, width: int, height: int) -> dict[int, dict[int, str]]:
        """Row → column → character of the marks (A, B, then the cursor on top), worked out once per frame."""
        key = (width, height, self.viewport, self.cursor, tuple(self.marks.items()))
        if key != self._marks_key:
            self._marks = {}
            for text, point in [*self.marks.items(), ("╋", self.cursor)]:
                row, column = self.viewport.to_cell(point, width, height)
                if 0 <= row < height and 0 <= column < width:
                    self._marks.setdefault(row, {})[column] = text
            self._marks_key = key
        return self._marks

    def _ensure_base(self, width: int, height: int) -> None:
        """Rasterise the dots and axes once per size, viewport and data; marks are drawn over it per line."""
        key = (width, height, self.viewport, self.palette)
        if key == self._base_key:
            return
        columns, rows = self.viewport.to_dots(self.means, width, height)
        self._cells = braille_cells(columns, rows, self.labels, width, height)
        axis_row, axis_column = self.viewport.to_cell((0.0, 0.0), width, height)
        self._axes = (axis_row if 0 <= axis_row < height else None, axis_column if 0 <= axis_column < width else None)
        self._base = map_strips(*self._cells, self.palette, self._axes, mono=self.app.no_color)
        self._write_note(width, height)
        self._base_key = key

    def _write_note(self, width: int, height: int) -> None:
        """The note goes near the top, clear of the origin where the cursor starts."""
        strips = note_strips(self.note, width, max(0, height - 1))
        self._note_rows = range(1, 1 + len(strips))
        self._base[1 : 1 + len(strips)] = strips
