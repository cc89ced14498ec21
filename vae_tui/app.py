"""The explorer app: layout, key bindings, the cursor, and the workers; widgets draw, vae_core computes."""

from __future__ import annotations

import gc
import io
import os
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import textual.constants
from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Footer
from textual.worker import Worker

from vae_core.errors import VaeError
from vae_tui.geometry import Point
from vae_tui.graphics import Graphics, choose_graphics
from vae_tui.messages import (
    CursorJump,
    DigitsEncoded,
    EpochPicked,
    Exported,
    PointerMoved,
    RunReread,
    SessionFailed,
    SessionOpened,
    WorkFailed,
    failure,
    outcome,
)
from vae_tui.palette import MODES, TEXTUAL_COLOR_SYSTEMS, detect_colors
from vae_tui.screens.help_screen import HelpScreen, key_rows
from vae_tui.widgets.digit_panel import VIEW_SHARE, DigitPanel
from vae_tui.widgets.grid_view import GridView
from vae_tui.widgets.latent_map import LatentMap
from vae_tui.widgets.reconstructions import ReconstructionView
from vae_tui.widgets.status_bar import StatusBar
from vae_tui.widgets.training_view import TrainingView

if TYPE_CHECKING:
    from vae_tui.session import Session

NO_DIGITS_NOTE = (
    "No test digits to plot: this checkpoint has no atlas beside it and no test set was found. "
    "Start again with --data-dir DIR (a folder holding MNIST's IDX files), "
    "or run `vae train` once, which downloads MNIST."
)
VIEWS = {"map": "Map", "grid": "Grid", "reconstructions": "Reconstructions", "training": "Training"}
CURSOR_LIMIT = 1000.0
"""How far from the origin the cursor may go, in latent units (the prior is N(0, I))."""
GRID_SHARE = 0.7
"""The grid view keeps this share of the terminal's width (the map and the reconstructions half)."""
FOLLOW_POLL_S = 0.5
"""How often a followed run's files are looked at (a stat each; they are read only once replaced)."""
FRAME_S = 1 / 60
"""The pointer's digit is decoded at most once per frame, always at its latest position."""
MOVE = Binding.Group("Move", compact=True)
VIEW = Binding.Group("Map/Grid/Recon/Train", compact=True)
MARK = Binding.Group("Mark", compact=True)
POINTER_HELP = [
    ("move pointer", "Show the digit under the pointer (map and grid); the status line says (pointer)"),
    ("click", "Pin the cursor there"),
    ("", "Terminals (or tmux without mouse mode) that send no motion: click and keys only"),
]


def within_limit(point: Point) -> Point:
    """The point moved inside ±CURSOR_LIMIT: vae_core refuses coordinates beyond ±1e4, where float32 overflows."""
    return float(np.clip(point[0], -CURSOR_LIMIT, CURSOR_LIMIT)), float(np.clip(point[1], -CURSOR_LIMIT, CURSOR_LIMIT))


def _moves(fine: bool) -> list[Binding]:
    """The four cursor moves: arrows and hjkl, or with shift (HJKL) a tenth of the step."""
    keys = {"left": "h", "right": "l", "up": "k", "down": "j"}
    arrows = {"left": "←", "right": "→", "up": "↑", "down": "↓"}
    steps = {"left": (-1, 0), "right": (1, 0), "up": (0, 1), "down": (0, -1)}
    return [
        Binding(
            f"shift+{arrow},{keys[arrow].upper()}" if fine else f"{arrow},{keys[arrow]}",
            f"move({dx}, {dy}, {fine})",
            f"Move {arrow}" + (" (fine)" if fine else ""),
            show=not fine,
            key_display=f"⇧{arrows[arrow]}" if fine else arrows[arrow],
            group=None if fine else MOVE,
        )
        for arrow, (dx, dy) in steps.items()
    ]


class ExplorerApp(App[None]):
    """Walk the latent plane of one checkpoint, opened by ``open_session`` in a worker (tests pass their own)."""

    CSS_PATH = "explorer.tcss"
    TITLE = "vae explore"
    INTERPOLATION_STEPS = 30
    INTERPOLATION_FRAME_S = 0.05
    ALWAYS_ENABLED = frozenset({"quit", "help", "command_palette"})
    """Actions that work while the checkpoint is still loading."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Help", key_display="?"),
        *_moves(fine=False),
        *_moves(fine=True),
        Binding("left_square_bracket", "scale_step(0.5)", "Smaller step", show=False, key_display="["),
        Binding("right_square_bracket", "scale_step(2)", "Larger step", show=False, key_display="]"),
        Binding("0", "recentre", "Recentre", show=False),
        Binding("m", "show_view('map')", "Map view", group=VIEW),
        Binding("g", "show_view('grid')", "Grid view", group=VIEW),
        Binding("r", "show_view('reconstructions')", "Reconstructions view", group=VIEW),
        Binding("t", "show_view('training')", "Training view", group=VIEW),
        Binding("e", "export", "Export"),
        Binding("a", "mark('A')", "Mark A", group=MARK),
        Binding("b", "mark('B')", "Mark B", group=MARK),
        Binding("i", "interpolate", "Walk A→B"),
        Binding("w", "save_walk", "Save the walk A→B as a GIF", show=False),
    ]

    # repaint=False: a change of the app's own reactives would repaint the whole screen (a full update, ~20 ms at
    # 120×40); the widgets that show them refresh their own lines.
    cursor: reactive[Point] = reactive((0.0, 0.0), init=False, always_update=True, repaint=False)
    """Where the keys and clicks put the pinned point (a click on the same point still ends a pointer preview)."""
    step: reactive[float] = reactive(0.1, init=False, repaint=False)
    marks: reactive[dict[str, Point]] = reactive(dict, always_update=True, init=False, repaint=False)
    view: reactive[str] = reactive("map", init=False, repaint=False)

    def __init__(
        self,
        open_session: Callable[[], Session],
        export_dir: Path | None = None,
        graphics: Graphics | None = None,
        follow: Path | None = None,
    ) -> None:
        # Without colour, Textual's "ANSI" mode drops colours (default foreground and background) instead of
        # turning them into greys: shapes and characters only.
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)
        self.open_session = open_session
        self.session: Session | None = None
        self.load_error: str | None = None
        """Why the checkpoint could not be opened, for the command to print once the app has closed."""
        self.export_dir = Path(export_dir) if export_dir is not None else Path.cwd()
        self.graphics = graphics
        """How the digits, the grid and the reconstructions are drawn in pixels; None: in half blocks."""
        self._walk: list[Point] = []
        self._walk_timer: Timer | None = None
        self.pointer: Point | None = None
        """Where the pointer hovers over the plane (None: not over it); its digit is shown instead of the cursor's."""
        self.previews = 0
        """How many pointer positions were decoded: motion is coalesced, so far fewer than motion events."""
        self._preview_due = False
        self._last_preview = 0.0
        self.follow = follow
        """The checkpoint of a run to follow from the start (``--follow``), waited for where not yet written."""
        self.following = False
        """Whether the run's files are watched: with --follow, or where the history says the run is training."""
        self.picked_epoch: int | None = None
        """The history's epoch the maps show, chosen in the training view; None: the latest (live while following)."""
        self._reread: Worker | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with ContentSwitcher(initial="map", id="views"):
                yield LatentMap(id="map").data_bind(ExplorerApp.cursor, ExplorerApp.marks)
                yield GridView(id="grid").data_bind(ExplorerApp.cursor)
                yield ReconstructionView(id="reconstructions")
                yield TrainingView(id="training").data_bind(ExplorerApp.cursor, ExplorerApp.marks)
            yield DigitPanel(id="side")
        yield Footer(show_command_palette=False)

    def on_resize(self, event: events.Resize) -> None:
        self._fit_panel()

    def _fit_panel(self) -> None:
        """The grid view takes more of the width: the whole grid needs it more than the decoded digit does."""
        self.query_one(DigitPanel).fit(*self.size, view_share=GRID_SHARE if self.view == "grid" else VIEW_SHARE)

    def on_mount(self) -> None:
        self._fit_panel()
        grid = self.query_one(GridView)
        for setting in ("n", "extent"):  # the grid's spacing is the step in the grid view
            self.watch(grid, setting, lambda _: self._update_step_display(), init=False)
        self._update_step_display()
        self.query_one(DigitPanel).show_marks(self.marks)
        self.query_one(StatusBar).busy = "loading the checkpoint"
        self.query_one(LatentMap).show_note("Loading the checkpoint…")
        self.query_one(LatentMap).focus()
        # After the first frame is on screen: importing torch holds the interpreter for a good while.
        self.call_after_refresh(self.open_when_written)

    # ---- opening the checkpoint -------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load")
    def load_session(self) -> None:
        """Open the checkpoint off the event loop: importing torch and loading weights take seconds."""
        self.post_message(outcome(self.open_session, SessionOpened, SessionFailed))

    @on(SessionFailed)
    def give_up(self, message: SessionFailed) -> None:
        self.load_error = message.text
        self.exit(return_code=1)

    @on(SessionOpened)
    def start(self, message: SessionOpened) -> None:
        # torch and the model are loaded for good: move their objects out of the collector's way, or every full
        # collection (about once a second while keys are pressed) walks them all and stalls a frame ~100 ms.
        gc.freeze()
        self.session = session = message.session
        status = self.query_one(StatusBar)
        status.checkpoint, status.busy = session.name, ""
        self.query_one(GridView).attach(session)
        self._start_history(session)
        encoding = session.test_set_dir is not None
        self._show_digits(note="" if session.digits else "Encoding the test set…" if encoding else NO_DIGITS_NOTE)
        if encoding:
            status.busy = "encoding the test set"
            self.encode_test_set()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.session is not None or action in self.ALWAYS_ENABLED

    # ---- the cursor and what follows it -------------------------------------------------------------------------

    def validate_cursor(self, cursor: Point) -> Point:
        return within_limit(cursor)

    def watch_cursor(self, cursor: Point) -> None:
        """The keyboard (or a click) moved the cursor: show its digit, ending any pointer preview."""
        self.pointer = None
        self._show_point(cursor)

    def _show_point(self, point: Point, hovering: bool = False) -> None:
        """Decode the digit at a point and find its nearest test digit: the per-move work, kept small."""
        status = self.query_one(StatusBar)
        status.point, status.hovering = point, hovering
        if self.session is None:
            return
        panel = self.query_one(DigitPanel)
        panel.show_decoded(point, self.session.decode(point))
        panel.show_nearest(self.session.nearest(point))

    @on(PointerMoved)
    def preview(self, message: PointerMoved) -> None:
        """Follow the pointer: remember where it is, and decode there once this frame's time has come."""
        if self.session is None:
            return
        self.pointer = message.point
        if not self._preview_due:
            self._preview_due = True
            wait = FRAME_S - (time.monotonic() - self._last_preview)
            if wait > 0:
                self.set_timer(wait, self._show_preview)
            else:  # after the messages already queued: a burst of motion ends in one decode
                self.call_later(self._show_preview)

    def _show_preview(self) -> None:
        self._preview_due, self._last_preview = False, time.monotonic()
        if self.pointer is None:
            self._show_point(self.cursor)
            return
        self.previews += 1
        self._show_point(within_limit(self.pointer), hovering=True)

    def watch_marks(self, marks: dict[str, Point]) -> None:
        self.query_one(DigitPanel).show_marks(marks)

    def watch_view(self) -> None:
        self._update_step_display()
        self._fit_panel()

    def watch_step(self) -> None:
        self._update_step_display()

    def move_step(self) -> float:
        """How far one key press moves the cursor: one cell in the grid view, else the step."""
        return self.query_one(GridView).spacing if self.view == "grid" else self.step

    def _update_step_display(self) -> None:
        status = self.query_one(StatusBar)
        status.step, status.view = round(self.move_step(), 4), VIEWS[self.view]

    def action_move(self, dx: int, dy: int, fine: bool = False) -> None:
        self._stop_walk()
        step = self.move_step() / (10 if fine else 1)
        self.cursor = (round(self.cursor[0] + dx * step, 6), round(self.cursor[1] + dy * step, 6))

    def action_scale_step(self, factor: float) -> None:
        self.step = float(np.clip(self.step * factor, 0.001, 4.0))

    def action_recentre(self) -> None:
        self._stop_walk()
        self.cursor = (0.0, 0.0)
        self.query_one(LatentMap).reset_view()

    @on(CursorJump)
    def jump(self, message: CursorJump) -> None:
        if self.session is not None:
            self._stop_walk()
            self.cursor = (round(message.point[0], 6), round(message.point[1], 6))

    # ---- views and the test digits ----------------------------------------------------------------------------------

    def action_show_view(self, view: str) -> None:
        self.query_one(ContentSwitcher).current = view
        self.query_one(f"#{view}").focus()
        self.view = view

    def _show_digits(self, note: str = "") -> None:
        """Hand the session's test digits to the views that draw them."""
        assert self.session is not None
        self.query_one(LatentMap).set_digits(*self._map_points(), note)
        self.query_one(ReconstructionView).set_digits(self.session, note)
        self.watch_cursor(self.cursor)

    @work(thread=True, exclusive=True, group="encode")
    def encode_test_set(self) -> None:
        """Encode the whole test set off the event loop; the atlas (if any) stays on screen meanwhile."""
        assert self.session is not None
        failed = partial(failure, "cannot plot the test set")
        self.post_message(outcome(self.session.encode_test_set, DigitsEncoded, failed))

    @on(DigitsEncoded)
    def use_test_set(self, message: DigitsEncoded) -> None:
        assert self.session is not None
        self.session.digits = message.digits
        self.query_one(StatusBar).busy = ""
        self._show_digits()

    @on(WorkFailed)
    def report_failure(self, message: WorkFailed) -> None:
        self.query_one(StatusBar).busy = ""
        if self.session is not None and self.session.digits is None:
            self._show_digits(note=NO_DIGITS_NOTE)
        self.notify(message.text, severity="error", timeout=10)

    # ---- following a run, and its history ---------------------------------------------------------------------------

    def open_when_written(self) -> None:
        """Open the checkpoint, once training has written it where it is followed before its first epoch ends."""
        if self.follow is not None and not self.follow.exists():
            self.query_one(StatusBar).busy = "waiting for the first checkpoint"
            self.query_one(LatentMap).show_note(f"Waiting for {self.follow}: training writes it after its first epoch…")
            self.set_timer(FOLLOW_POLL_S, self.open_when_written)
            return
        self.load_session()

    def _start_history(self, session: Session) -> None:
        """Say what is wrong with the history, and follow the run where asked to or where it is still training."""
        if session.history_problem:
            self.notify(session.history_problem, title="Training history", severity="warning", timeout=10)
        self.following = session.run is not None and (
            self.follow is not None or (session.history is not None and session.history.training)
        )
        if self.following:
            self.set_interval(FOLLOW_POLL_S, self._poll_run)
        self._show_history()

    def _poll_run(self) -> None:
        """A stat of each file; a worker reads them where training replaced one (one worker at a time)."""
        assert self.session is not None and self.session.run is not None
        if (self._reread is None or self._reread.is_finished) and self.session.run.changed():
            self._reread = self.reread_run()

    @work(thread=True, group="follow")
    def reread_run(self) -> None:
        """Read the replaced files (and re-encode the test digits for new weights) off the event loop."""
        assert self.session is not None
        self.post_message(outcome(self.session.reread, RunReread, partial(failure, "cannot follow the run")))

    @on(RunReread)
    def follow_run(self, message: RunReread) -> None:
        """New weights decode the digit on show and the grid; a new history moves the dots and the curves."""
        assert self.session is not None
        self.session.follow(message.followed)
        if message.followed.found.problem:
            self.notify(message.followed.found.problem, title="Following the run", severity="warning", timeout=10)
        if message.followed.found.model is not None:
            self.query_one(GridView).attach(self.session)
            self._show_digits()
        self._show_history()

    @on(EpochPicked)
    def pick_epoch(self, message: EpochPicked) -> None:
        self.picked_epoch = message.epoch
        self._show_history()

    def _map_epoch(self) -> int | None:
        """The epoch of the history the map shows: the one picked, else the latest while following; None: none."""
        history = self.session.history if self.session is not None else None
        if history is None:
            return None
        if self.picked_epoch is not None:
            return self.picked_epoch
        return history.last_epoch if self.following else None

    def _map_points(self) -> tuple[np.ndarray, np.ndarray]:
        """What the map plots: an epoch's means from the history, or the checkpoint's own test digits."""
        assert self.session is not None
        epoch = self._map_epoch()
        return self.session.means_and_labels() if epoch is None else self.session.epoch_map(epoch)

    def run_line(self) -> str:
        """Where the run stands, for the status line: "epoch 37/150, live", "epoch 150/150, finished"."""
        assert self.session is not None and self.session.history is not None
        history = self.session.history
        if history.training and self.following:
            return f"epoch {history.last_epoch}/{history.epochs_planned}, live"
        return history.status()

    def _show_history(self) -> None:
        """The map at its epoch, the training view's curves, and the run's line in the status bar."""
        assert self.session is not None
        status, view, history = self.query_one(StatusBar), self.query_one(TrainingView), self.session.history
        if history is None:
            status.run = ""
            view.show_missing("No training history")
            return
        if self.picked_epoch not in {record.epoch for record in history.records}:
            self.picked_epoch = None
        epoch = self.picked_epoch or history.last_epoch
        status.run = self.run_line() if self.picked_epoch is None else f"map at epoch {epoch} │ {self.run_line()}"
        view.show(history, epoch, self.session.epoch_map(epoch))
        self.query_one(LatentMap).set_digits(*self._map_points(), self.query_one(LatentMap).note)

    # ---- interpolation ----------------------------------------------------------------------------------------------

    def action_mark(self, name: str) -> None:
        self.marks = {**self.marks, name: self.cursor}

    def _marked_both(self) -> bool:
        if not {"A", "B"} <= self.marks.keys():
            self.notify("Mark two points first: move, press a; move again, press b.", severity="warning")
            return False
        return True

    def action_interpolate(self) -> None:
        """Walk the cursor from A to B in even steps, one frame at a time; the digit view follows."""
        if not self._marked_both():
            return
        assert self.session is not None
        self._stop_walk()
        self._walk = self.session.walk(self.marks["A"], self.marks["B"], self.INTERPOLATION_STEPS)
        self._walk_timer = self.set_interval(self.INTERPOLATION_FRAME_S, self._walk_on)
        self._walk_on()

    def _walk_on(self) -> None:
        if not self._walk:  # Textual's timer can tick once more after stop() when the next tick is under 0.5 ms away
            return
        done = self.INTERPOLATION_STEPS - len(self._walk) + 1
        self.cursor = self._walk.pop(0)
        self.query_one(StatusBar).busy = f"walking A→B {done}/{self.INTERPOLATION_STEPS}"
        if not self._walk:
            self._stop_walk()

    def _stop_walk(self) -> None:
        if self._walk_timer is not None:
            self._walk_timer.stop()
            self._walk_timer = None
            self._walk = []
            self.query_one(StatusBar).busy = ""

    # ---- export ---------------------------------------------------------------------------------------------------

    def action_export(self) -> None:
        """Save what the current view shows as a full-resolution PNG in the export directory."""
        session = self.session
        assert session is not None
        if self.view == "grid":
            n, extent = self.query_one(GridView).n, self.query_one(GridView).extent
            self._export(f"vae-grid-{n}x{n}-range{extent:g}.png", lambda: session.png(session.grid(n, extent)))
        elif self.view == "map":
            if session.digits is None:
                self.notify("Nothing to export: the map has no test digits.", severity="warning")
                return
            latent_map = self.query_one(LatentMap)
            extent = max(abs(bound) for bound in latent_map.viewport.bounds(*latent_map.size))
            self._export("vae-map.png", lambda: session.png(session.map_picture(extent)))
        elif self.view == "training":
            self.notify("`vae export-map --animate OUT.gif` writes the map at every epoch of the history.")
        else:
            image = self.query_one(ReconstructionView).image
            if image is None:
                self.notify("Nothing to export: there are no test digits to reconstruct.", severity="warning")
                return
            self._export("vae-reconstructions.png", lambda: session.png(image))

    def action_save_walk(self) -> None:
        """Save the walk from A to B as an animated GIF: the same file `vae interpolate` writes for these points."""
        if not self._marked_both():
            return
        session, start, end = self.session, self.marks["A"], self.marks["B"]
        assert session is not None
        self._export("vae-walk.gif", lambda: session.walk_gif(start, end))

    @work(thread=True, group="export")
    def _export(self, name: str, encode: Callable[[], bytes]) -> None:
        """Draw the file off the event loop; write it under a name not yet taken, or (in a browser) download it."""
        assert self.session is not None
        session, path, failed = self.session, self.export_dir / name, partial(failure, "export failed")
        if self.is_web:
            self.post_message(outcome(lambda: self._deliver(name, encode()), Exported, failed))
            return
        counter = 1
        while path.exists():
            counter += 1
            path = path.with_name(f"{Path(name).stem}-{counter}{Path(name).suffix}")
        self.post_message(outcome(lambda: session.write(encode(), path), Exported, failed))

    def _deliver(self, name: str, data: bytes) -> Path:
        """Hand a file to the browser's downloads (from a worker): in `vae explore --web` the disk is the server's."""
        mime_type = "image/gif" if name.endswith(".gif") else "image/png"
        self.call_from_thread(self.deliver_binary, io.BytesIO(data), save_filename=name, mime_type=mime_type)
        return Path(name)

    @on(Exported)
    def say_exported(self, message: Exported) -> None:
        if self.is_web:
            self.notify(f"Sent {message.path.name} to the browser's downloads", title="Exported")
        else:
            self.notify(f"Saved {message.path}", title="Exported")

    # ---- help and command palette -------------------------------------------------------------------------------

    def action_help(self) -> None:
        sections = [
            ("Everywhere", key_rows(self.BINDINGS)),
            ("Map", [*key_rows(LatentMap.BINDINGS), ("wheel", "Zoom")]),
            ("Grid", key_rows(GridView.BINDINGS)),
            ("Pointer", POINTER_HELP),
            ("Reconstructions", key_rows(ReconstructionView.BINDINGS)),
            ("Training", key_rows(TrainingView.BINDINGS)),
            ("Anywhere", [("ctrl+p", "Command palette (exports, views, theme)")]),
        ]
        self.push_screen(HelpScreen(sections))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.session is None:
            return
        yield SystemCommand("Export PNG", "Save what the current view shows as a PNG", self.action_export)
        for view, title in VIEWS.items():
            yield SystemCommand(
                f"Show {title}", f"Switch to the {title.lower()} view", partial(self.action_show_view, view)
            )
        yield SystemCommand("Walk from A to B", "Animate the interpolation between the marks", self.action_interpolate)
        yield SystemCommand("Save the walk as a GIF", "The walk from A to B as an animated GIF", self.action_save_walk)
        yield SystemCommand("Recentre", "Cursor back to (0, 0), default map range", self.action_recentre)


def check_terminal() -> None:
    """The explorer needs an interactive terminal that can draw; say so plainly where there is none."""
    if os.environ.get("TERM") == "dumb":
        raise VaeError("vae explore needs a terminal that can draw a full-screen interface, and TERM=dumb cannot")
    # Textual reads stdin and draws on stderr; stdout must be a terminal too, or the user meant to capture output.
    if not all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout, sys.stderr)):
        raise VaeError("vae explore needs an interactive terminal: run it without pipes or redirection")


def apply_colors(colors: str | None) -> None:
    """Set the colour depth: truecolor, 256, 16 or none; None detects it (see :func:`detect_colors`)."""
    colors = colors if colors is not None else detect_colors(os.environ)
    if colors is None:
        return  # Textual tells 256 colours from 16 by itself
    if colors not in MODES:
        raise VaeError(f"unknown colour mode {colors!r}; choose one of {', '.join(MODES)}")
    if colors == "none":
        os.environ["NO_COLOR"] = "1"
        return
    os.environ["TEXTUAL_COLOR_SYSTEM"] = TEXTUAL_COLOR_SYSTEMS[colors]
    # Textual reads TEXTUAL_COLOR_SYSTEM once, when it is first imported, which has happened by now.
    textual.constants.COLOR_SYSTEM = TEXTUAL_COLOR_SYSTEMS[colors]


def open_for_exploring(checkpoint: Path | None, data_dir: Path | None) -> Session:
    """Open a checkpoint as the explorer does (torch on one thread); the loading worker calls this."""
    # Imported here, in the loading worker: vae_tui.session brings torch, which must not delay the first frame.
    import torch

    from vae_tui.session import open_session

    # The explorer decodes 1 to a few hundred points at a time: on one thread that takes a few milliseconds, while
    # OpenMP's hand-off between threads, on a machine busy with other work, was measured to cost up to 70 ms.
    torch.set_num_threads(1)
    return open_session(checkpoint, data_dir)


def run_explorer(
    checkpoint: Path | None, data_dir: Path | None, colors: str | None, graphics: str = "auto", follow: bool = False
) -> None:
    """Open a checkpoint (the bundled one by default) in the explorer; user mistakes raise VaeError.

    ``follow``: reload as training replaces the checkpoint and its history, waiting for the first checkpoint.
    """
    check_terminal()
    apply_colors(colors)
    if follow and checkpoint is None:
        raise VaeError("--follow needs the checkpoint of a run that `vae train` is writing")
    # Before the app runs: choosing may ask the terminal, and the answers must not reach Textual as keys.
    pixels = choose_graphics(graphics)
    app = ExplorerApp(
        partial(open_for_exploring, checkpoint, data_dir), graphics=pixels, follow=checkpoint if follow else None
    )
    app.run()
    if app.load_error is not None:
        raise VaeError(app.load_error)
    if app.return_code:  # Textual sets it after an exception it caught (and printed) itself
        raise VaeError(f"the explorer stopped on an error (exit status {app.return_code})")
