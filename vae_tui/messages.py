"""The explorer's own messages: they flow up from widgets and workers to the app (workers only post messages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from textual.message import Message

from vae_core.errors import VaeError, unexpected_error_line
from vae_tui.geometry import Point

if TYPE_CHECKING:
    from vae_core.atlas import Atlas
    from vae_tui.session import Followed, Session

Result = TypeVar("Result")


@dataclass
class SessionOpened(Message):
    """The checkpoint is loaded: explore it."""

    session: Session


@dataclass
class SessionFailed(Message):
    """The checkpoint could not be opened; the app closes and the command prints ``text``."""

    text: str


@dataclass
class CursorJump(Message):
    """Someone clicked a point of the latent plane: pin the cursor there."""

    point: Point


@dataclass
class PointerMoved(Message):
    """The pointer moved over the plane (``point``) or left it (None): preview the digit there."""

    point: Point | None

    def can_replace(self, message: Message) -> bool:
        # A newer position waiting in the queue makes this one stale: a fast sweep never builds a backlog.
        return isinstance(message, PointerMoved)


@dataclass
class DigitsEncoded(Message):
    """The worker finished encoding the test set: plot these digits instead of the atlas's."""

    digits: Atlas


@dataclass
class GridDecoded(Message):
    """The worker decoded the n×n grid over [-extent, extent]² as one image."""

    n: int
    extent: float
    image: np.ndarray


@dataclass
class RunReread(Message):
    """The worker read a followed run's replaced files (new weights, a new history, or what could not be read)."""

    followed: Followed


@dataclass
class EpochPicked(Message):
    """The training view chose the history's epoch the maps show (None: the latest, live while following)."""

    epoch: int | None


@dataclass
class Exported(Message):
    """The worker wrote a picture."""

    path: Path


@dataclass
class WorkFailed(Message):
    """A worker met an error the user can act on; the app shows it as a notification."""

    text: str


def failure(what: str, why: str) -> WorkFailed:
    """A worker's failure as the notification says it: what could not be done, and why."""
    return WorkFailed(f"{what}: {why}")


def outcome(job: Callable[[], Result], done: Callable[[Result], Message], failed: Callable[[str], Message]) -> Message:
    """What a worker posts when its job ends: ``done(result)``, or ``failed(why)`` for an error the user can act on.

    Every worker hands its result back this one way, as a message posted from its thread.
    """
    try:
        return done(job())
    except VaeError as error:
        return failed(str(error))
    except Exception as error:  # a bug: one line naming the crash log, never Textual's traceback and exit 0
        return failed(unexpected_error_line(error))
