"""The help screen: what the explorer shows and every key, grouped by where it works."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "Walk through the 2-D latent plane of a VAE trained on MNIST. The cursor is a latent point (x, y); "
    "the panel on the right shows the digit the decoder draws there and the nearest real test digit. "
    "The map plots the test digits' latent means, one colour per label. Exports go to the current directory."
)


def key_rows(bindings: list[Binding]) -> list[tuple[str, str]]:
    """(keys, description) for each binding that has a description, every key of a binding listed."""
    return [(" ".join(_key_name(key) for key in b.key.split(",")), b.description) for b in bindings if b.description]


def _key_name(key: str) -> str:
    *modifiers, name = key.split("+")
    return "+".join([*modifiers, format_key(name)])


class HelpScreen(ModalScreen[None]):
    """A modal listing of sections of (keys, what they do); any of escape, q, ? or f1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "dismiss", "Close help")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(INTRO, id="help-intro")
            for title, rows in self.sections:
                lines = [Content.styled(title, "bold underline")]
                lines += [Content.assemble("  ", (f"{keys:<16}", "bold"), description) for keys, description in rows]
                yield Static(Content("\n").join(lines), classes="help-section")

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "vae explore: help (escape to close)"
