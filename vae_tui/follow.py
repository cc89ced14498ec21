"""Following a run that ``vae train`` is writing: noticing that its checkpoint or history was replaced, and reading
them back.

Training replaces both files by an atomic rename (the checkpoint first, then the history), so a file read here is
always whole; nothing is locked and nothing is written, so training never waits for the explorer. Noticing costs a
``stat`` per file and runs on the event loop; reading runs in a worker, and only for a file that changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vae_core.checkpoints import load_checkpoint
from vae_core.errors import VaeError
from vae_core.files import FileVersion, file_version
from vae_core.history import TrainingHistory, load_history
from vae_core.model import VAE
from vae_core.paths import history_path_for

EXPLORER = "the explorer"
"""The task a checkpoint is checked for (784 inputs, a 2-D latent plane) wherever the explorer loads one."""


def seen_version(path: Path) -> FileVersion | None:
    """The file's version (see ``file_version``); one that cannot be looked at counts as absent, so a poll on the
    event loop never stops the explorer."""
    try:
        return file_version(path)
    except OSError:
        return None


@dataclass(frozen=True)
class RunRead:
    """What :meth:`RunFiles.read` found replaced: new weights, a new history, and a line for what could not be read."""

    model: VAE | None = None
    history: TrainingHistory | None = None
    problem: str | None = None


class RunFiles:
    """A checkpoint and the history beside it, each read again only once training has replaced it."""

    def __init__(self, checkpoint: Path) -> None:
        self.checkpoint = Path(checkpoint)
        self.history_path = history_path_for(self.checkpoint)
        self.seen: dict[Path, FileVersion | None] = {self.history_path: None}
        self.seen[self.checkpoint] = seen_version(self.checkpoint)
        """The checkpoint counts as read from the start: its opener reads it (see ``open_session``)."""

    def changed(self) -> bool:
        """Whether either file was replaced (or appeared) since it was last read: one stat each."""
        return any(seen_version(path) != version for path, version in self.seen.items())

    def read(self) -> RunRead:
        """Read the files that changed. A file that cannot be read gives ``problem`` once, not at every poll."""
        model = history = None
        problems = []
        for path, version in list(self.seen.items()):
            now = seen_version(path)
            if now == version:
                continue
            self.seen[path] = now
            if now is None:
                continue
            try:
                if path == self.checkpoint:
                    model = load_checkpoint(path, task=EXPLORER)[0]
                else:
                    history = load_history(path)
            except VaeError as error:
                problems.append(str(error))
        return RunRead(model, history, "; ".join(problems) or None)
