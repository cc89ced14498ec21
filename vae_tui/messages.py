"""The explorer's own messages: they flow up from widgets and workers to the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from vae_core.atlas import Atlas
    from vae_tui.session import Session


class SessionOpened(Message):
    """The checkpoint is loaded: explore it."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session


class SessionFailed(Message):
    """The checkpoint could not be opened; the app closes and the command prints ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class CursorJump(Message):
    """Someone clicked a point of the latent plane: move the cursor there."""

    def __init__(self, point: tuple[float, float]) -> None:
        super().__init__()
        self.point = point


class DigitsEncoded(Message):
    """The worker finished encoding the test set: plot these digits instead of the atlas's."""

    def __init__(self, digits: Atlas) -> None:
        super().__init__()
        self.digits = digits


class WorkFailed(Message):
    """A worker met an error the user can act on; the app shows it as a notification."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
