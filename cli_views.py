"""The `vae` command's Rich views: training progress, downloads, and the tables it prints. Only cli.py imports this.

Views draw what vae_core reports and compute nothing of their own; torch is imported only where an event is read.
"""

from __future__ import annotations

import codecs
import sys
import unicodedata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from vae_core.recipes import TrainConfig

if TYPE_CHECKING:
    from pathlib import Path

    from vae_core.checkpoints import CheckpointInfo
    from vae_core.evaluation import EvaluationReport, LossSummary
    from vae_core.events import EpochEnded, TrainEvent, TrainResult, TrainStarted


ASCII_SPELLINGS = {"×": "x", "−": "-", "…": "...", "β": "beta", "²": "^2", "±": "+/-", "‖": "||", "→": "->"}
"""How the characters vae prints are spelled on a terminal that takes ASCII only; others fall back to '?'."""


def _spell_in_ascii(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    bad = error.object[error.start : error.end]
    spelled = "".join(
        ASCII_SPELLINGS.get(char) or unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode() or "?"
        for char in bad
    )
    return spelled, error.end


codecs.register_error("vae-ascii", _spell_in_ascii)


def ascii_fallback() -> None:
    """Let stdout and stderr spell what they cannot encode (PYTHONIOENCODING=ascii, LC_ALL=C) instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            "×−…β₂".encode(encoding)
        except (UnicodeEncodeError, LookupError):
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="vae-ascii")


class TrainView:
    """Renders training events: live bars on a terminal, one plain line per epoch elsewhere."""

    def __init__(self, console: Console, live: bool) -> None:
        self.console = console
        self.progress = (
            Progress(
                TextColumn("{task.description:>11}"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TextColumn("<"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=console,
                refresh_per_second=4,
            )
            if live
            else None
        )
        self.overall: Any = None
        self.epoch: Any = None
        self.steps_per_epoch = 0

    def __enter__(self) -> TrainView:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: TrainEvent) -> None:
        from vae_core.events import EpochEnded, StepsDone, TrainStarted

        if isinstance(event, TrainStarted):
            self.started(event)
        elif isinstance(event, StepsDone) and self.progress is not None:
            done = event.epoch * event.steps_per_epoch + event.step
            status = f"BCE {event.running.bce:7.2f}  KL {event.running.kl:5.2f}  {event.samples_per_s:,.0f} img/s"
            self.progress.update(self.overall, completed=done)
            self.progress.update(self.epoch, completed=event.step, status=status)
        elif isinstance(event, EpochEnded):
            self.epoch_ended(event)

    def started(self, event: TrainStarted) -> None:
        self.console.print(
            f"training on {event.device} in {event.precision}: {event.train_size:,} training, "
            f"{event.val_size:,} validation, {event.test_size:,} test images; "
            f"recipe {event.config.describe()}",
            soft_wrap=True,
        )
        if event.start_epoch >= event.config.epochs:
            self.console.print(f"all {event.config.epochs} epochs are done; pass a larger --epochs to train on")
        elif event.start_epoch or event.start_step:
            self.console.print(f"resuming at epoch {event.start_epoch + 1}, step {event.start_step:,}", soft_wrap=True)
        if self.progress is None:
            return
        steps = self.steps_per_epoch = event.steps_per_epoch
        self.overall = self.progress.add_task(
            "overall",
            total=steps * event.config.epochs,
            completed=event.start_epoch * steps + event.start_step,
            status="",
        )
        self.epoch = self.progress.add_task(
            self.epoch_title(event.start_epoch + 1, event.config.epochs),
            total=steps,
            completed=event.start_step,
            status="",
        )

    @staticmethod
    def epoch_title(epoch: int, epochs: int) -> str:
        return f"epoch {epoch}/{epochs}"

    def epoch_ended(self, event: EpochEnded) -> None:
        parts = [f"epoch {event.epoch:>{len(str(event.epochs))}}/{event.epochs}", f"train {format_loss(event.train)}"]
        parts += [f"{name} {loss.total:.2f}" for name, loss in (("val", event.val), ("test", event.test)) if loss]
        parts.append(f"{event.samples_per_s:,.0f} img/s")
        line = Text("  ".join(parts))
        if event.is_best:
            line.append("  best, saved", style="green")
        self.console.print(line, soft_wrap=True)
        if event.kl_collapsed:
            self.console.print(collapse_warning((event.val or event.train).kl), soft_wrap=True)
        if self.progress is None:
            return
        # Steps are reported a few times a second, so the last ones of an epoch may not have been shown yet.
        self.progress.update(self.overall, completed=event.epoch * self.steps_per_epoch)
        if event.epoch < event.epochs:
            self.progress.reset(self.epoch, description=self.epoch_title(event.epoch + 1, event.epochs), status="")
        else:
            self.progress.update(self.epoch, completed=self.steps_per_epoch)


def collapse_warning(kl: float) -> Text:
    return Text(
        f"posterior collapse: the KL is {kl:.2f} nats per image, so the latent code carries almost nothing "
        "about the digit; try a lower --lr or another --seed",
        style="yellow",
    )


def training_summary(result: TrainResult) -> Table:
    """The closing table: where the checkpoint went, its losses and the time it took."""
    titles = {
        "finished": "Training finished",
        "interrupted": "Training interrupted",
        "early-stopping": "Training stopped early (validation loss no longer improving)",
    }
    table = Table(title=titles[result.stopped], show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    last = result.history[-1] if result.history else None
    if result.checkpoint is not None and last is not None:
        table.add_row("checkpoint", f"{result.checkpoint} (best epoch {result.best_epoch} of {last.epoch})")
    else:
        table.add_row("checkpoint", "none yet: no epoch finished")
    if result.test is not None:
        table.add_row("test loss", f"{format_loss(result.test)} nats per image")
    if last is not None:
        table.add_row("time", f"{format_duration(last.elapsed_s)}, {last.samples_per_s:,.0f} images/s")
        if last.kl_collapsed:
            table.add_row("warning", collapse_warning((last.val or last.train).kl))
    if result.resume_file is not None:
        table.add_row("resume state", str(result.resume_file))
    return table


class DownloadView:
    """Downloads as Rich bars on a terminal (started at the first byte) and one line per file elsewhere."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> DownloadView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, file_name: str, done: int, total: int) -> None:
        if not self.console.is_terminal:
            if file_name not in self.tasks:
                self.tasks[file_name] = None
                self.console.print(f"downloading {file_name}")
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("downloading {task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
        if file_name not in self.tasks:
            self.tasks[file_name] = self.progress.add_task(file_name, total=total or None)
        self.progress.update(self.tasks[file_name], completed=done)


class EvaluationView:
    """One transient bar per stage of an evaluation, on a terminal only: the figures come out as one table."""

    def __init__(self, console: Console, samples: int) -> None:
        self.samples = samples
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> EvaluationView:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            for task in self.tasks.values():
                self.progress.update(task, visible=False)
            title = f"{stage}, k={self.samples:,}" if stage == "log-likelihood" else f"{stage}…"
            self.tasks[stage] = self.progress.add_task(title, total=total)
        self.progress.update(self.tasks[stage], completed=done)


def evaluation_table(checkpoint: Path, split: str, report: EvaluationReport) -> Group:
    """`vae evaluate`'s figures, per test image, under a heading as wide as the terminal (a table's own title wraps
    at the table's width)."""
    table = Table(caption_justify="left")
    table.add_column("per test image")
    table.add_column("value", justify="right")
    table.add_row("reconstruction (BCE)", f"{report.loss.bce:.2f} nats")
    table.add_row("KL to the prior", f"{report.loss.kl:.2f} nats")
    table.add_row("negative ELBO", f"{report.loss.total:.2f} nats")
    table.add_row(f"−log p(x), importance-weighted, k={report.samples:,}", f"{report.nll:.2f} nats")
    table.add_row(f"{report.neighbours}-NN accuracy of the latent means", f"{report.knn_accuracy:.1%}")
    table.caption = (
        f"−log p(x) over the first {report.nll_images:,} test images (an upper bound that tightens as k grows); "
        f"{report.neighbours}-NN fit on {report.train_images:,} training images"
    )
    return Group(Text(f"{checkpoint} on the {split} set", style="italic"), table)


PROVENANCE_LABELS = {
    "dataset": "dataset",
    "dataset_source": "data from",
    "train_samples": "training images",
    "val_samples": "validation images",
    "epochs": "epochs trained",
    "best_epoch": "best epoch",
    "recipe": "recipe",
    "seed": "seed",
    "precision": "precision",
    "device": "trained on",
    "test_loss": "test loss",
    "val_loss": "best validation loss",
    "train_seconds": "training time",
    "created": "created",
    "command": "command",
    "versions": "versions",
}


def checkpoint_table(path: Path, details: CheckpointInfo, companions: dict[str, Path]) -> Table:
    """`vae info`'s table: the model, its provenance, and which companion files lie beside it."""
    table = Table(title=str(path), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in checkpoint_rows(details):
        table.add_row(label, value)
    for label, companion in companions.items():
        table.add_row(label, str(companion) if companion.is_file() else "none")
    return table


def checkpoint_rows(details: CheckpointInfo) -> Iterator[tuple[str, str]]:
    """(label, value) rows for a checkpoint's model and provenance, known keys first, in a readable form."""
    yield "model", f"{details.model} (format version {details.format_version})"
    yield "network", ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in details.config.to_dict().items())
    provenance = details.provenance
    keys = [key for key in PROVENANCE_LABELS if key in provenance] + sorted(
        provenance.keys() - PROVENANCE_LABELS.keys()
    )
    for key in keys:
        value = provenance[key]
        if value is None:
            continue
        if key == "recipe" and isinstance(value, dict):
            text = TrainConfig.from_dict(value).describe()
        elif key in ("test_loss", "val_loss"):
            text = format_loss(value) if isinstance(value, dict) else f"{value:.2f}"
            text += " nats per image"
        elif key == "train_seconds":
            text = format_duration(value)
        elif isinstance(value, dict):
            text = ", ".join(f"{name} {item}" for name, item in value.items())
        elif isinstance(value, list):
            text = "; ".join(map(str, value))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            text = f"{value:,}"
        else:
            text = str(value)
        yield PROVENANCE_LABELS.get(key, key.replace("_", " ")), text


def format_loss(loss: LossSummary | dict[str, float]) -> str:
    bce, kl = (loss["bce"], loss["kl"]) if isinstance(loss, dict) else (loss.bce, loss.kl)
    return f"{bce + kl:.2f} (BCE {bce:.2f} + KL {kl:.2f})"


def format_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
