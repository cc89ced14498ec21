"""The top line: the cursor's coordinates, the step, the view, the checkpoint, and what runs in the background."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

Point = tuple[float, float]


class StatusBar(Widget):
    """One line that is always on screen, whatever the view."""

    cursor: reactive[Point] = reactive((0.0, 0.0))
    step: reactive[float] = reactive(0.1)
    view: reactive[str] = reactive("map")
    busy: reactive[str] = reactive("")
    checkpoint: reactive[str] = reactive("")

    def render(self) -> Content:
        x, y = self.cursor
        return Content.from_markup(
            "[b]x $x  y $y[/b]  step $step │ $view │ $checkpoint" + ("  [b reverse] $busy [/]" if self.busy else ""),
            x=f"{x:+.3f}",
            y=f"{y:+.3f}",
            step=f"{self.step:g}",
            view=self.view,
            checkpoint=self.checkpoint,
            busy=self.busy,
        )
