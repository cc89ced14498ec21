"""The training view: the run's loss curves over its epochs, and the map at an epoch that the keys scrub through."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from vae_tui.blocks import note_strips
from vae_tui.curves import curve_palette, loss_strips
from vae_tui.geometry import Point
from vae_tui.messages import EpochPicked
from vae_tui.palette import color_mode, label_palette
from vae_tui.widgets.latent_map import LatentMap

if TYPE_CHECKING:
    from vae_core.history import TrainingHistory

NO_HISTORY_NOTE = (
    "No training history beside this checkpoint: `vae train` keeps one (NAME.history.safetensors, unless "
    "--no-history) with each epoch's losses and map. Train a model to watch its map form; "
    "`vae explore --follow RUN.safetensors` follows a run while it trains."
)


class LossPlot(Widget):
    """The loss curves, BCE above KL, with a line at the epoch on show."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: TrainingHistory | None = None
        self.epoch: int | None = None
        self._strips: list[Strip] = []
        self._key: tuple | None = None

    def show(self, history: TrainingHistory | None, epoch: int | None) -> None:
        self.history, self.epoch = history, epoch
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        palette = curve_palette(label_palette(color_mode(self.app)))
        key = (width, height, id(self.history), self.epoch, palette)
        if key != self._key:
            if self.history is None:
                self._strips = note_strips(NO_HISTORY_NOTE, width, height)
            else:
                self._strips = loss_strips(self.history, self.epoch, width, height, palette, mono=self.app.no_color)
            self._key = key
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, self.rich_style)


class TrainingView(Vertical, can_focus=True):
    """What the history says: a line on the epoch on show, the curves, and that epoch's map of the sample digits.

    The app hands down the history and the epoch; the keys post :class:`EpochPicked`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,comma", "scrub(-1)", "Earlier epoch", key_display="← ,"),
        Binding("right,full_stop", "scrub(1)", "Later epoch", key_display="→ ."),
        Binding("home", "pick('first')", "First epoch"),
        Binding("end", "pick('last')", "Latest epoch (live while following)"),
    ]

    cursor: reactive[Point] = reactive((0.0, 0.0))
    marks: reactive[dict[str, Point]] = reactive(dict, always_update=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: TrainingHistory | None = None
        self.epoch: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="training-header")
        yield LossPlot(id="losses")
        yield LatentMap(id="epoch-map").data_bind(TrainingView.cursor, TrainingView.marks)

    def show(self, history: TrainingHistory, epoch: int, points: tuple[np.ndarray, np.ndarray]) -> None:
        """The history with ``epoch`` marked, and that epoch's map (``points``: means and labels)."""
        self.history, self.epoch = history, epoch
        self.query_one(LossPlot).show(history, epoch)
        self.query_one(LatentMap).set_digits(*points)
        record = next(r for r in history.records if r.epoch == epoch)
        figures = "  ".join(
            f"{name} {loss.total:.1f}"
            for name, loss in (("train", record.train), ("val", record.val), ("test", record.test))
            if loss is not None
        )
        header = Content.from_markup("[b]Map at epoch $epoch[/b] │ $figures nats", epoch=str(epoch), figures=figures)
        self.query_one("#training-header", Static).update(header)

    def show_missing(self, why: str) -> None:
        """No history to show: say why, and how to get one."""
        self.history, self.epoch = None, None
        self.query_one(LossPlot).show(None, None)
        self.query_one("#training-header", Static).update(why)
        self.query_one(LatentMap).set_digits(np.zeros((0, 2), np.float32), np.zeros(0, np.int64), NO_HISTORY_NOTE)

    @property
    def epochs(self) -> list[int]:
        return [] if self.history is None else [record.epoch for record in self.history.records]

    def action_scrub(self, step: int) -> None:
        epochs = self.epochs
        if not epochs:
            return
        here = epochs.index(self.epoch) if self.epoch in epochs else len(epochs) - 1
        self.post_message(EpochPicked(epochs[max(0, min(len(epochs) - 1, here + step))]))

    def action_pick(self, which: str) -> None:
        if self.epochs:
            self.post_message(EpochPicked(self.epochs[0] if which == "first" else None))
