"""The top line: the point on show, the step, the view, the checkpoint, and what runs in the background."""

from __future__ import annotations

import math

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from vae_tui.geometry import Point


def decimals_for(step: float) -> int:
    """Enough decimals that a fine move (a tenth of ``step``) changes the coordinates shown; at least three."""
    return max(3, math.ceil(-math.log10(step / 10) - 1e-9)) if step > 0 else 3


class StatusBar(Widget):
    """One line that is always on screen, whatever the view."""

    point: reactive[Point] = reactive((0.0, 0.0))
    """The point whose digit is on show: the cursor's, or the pointer's while it hovers."""
    hovering: reactive[bool] = reactive(False)
    step: reactive[float] = reactive(0.1)
    view: reactive[str] = reactive("map")
    busy: reactive[str] = reactive("")
    checkpoint: reactive[str] = reactive("")
    run: reactive[str] = reactive("")
    """Where the training run stands, from its history ("epoch 37/150, live"); empty without a history."""

    def render(self) -> Content:
        x, y = self.point
        decimals = decimals_for(self.step)
        return Content.from_markup(
            "[b]x $x  y $y[/b]$where  step $step │ $view │ $checkpoint"
            + (" │ $run" if self.run else "")
            + ("  [b reverse] $busy [/]" if self.busy else ""),
            x=f"{x:+.{decimals}f}",
            y=f"{y:+.{decimals}f}",
            where=" (pointer; click pins)" if self.hovering else "",
            step=f"{self.step:g}",
            view=self.view,
            checkpoint=self.checkpoint,
            run=self.run,
            busy=self.busy,
        )
