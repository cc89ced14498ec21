"""Screens compared with accepted SVG snapshots (update with --snapshot-update, then look at the SVGs).

The bundled checkpoint's snapshots show real digits at three terminal sizes in each view; the random model's
show the marks, the walk's keys and the cursor's highlight on made-up data.
"""

from __future__ import annotations

import pytest

MOVES = ["right", "right", "up", "a", "left", "left", "left", "down", "b"]
SIZES = [(80, 24), (120, 40), (200, 60)]
VIEWS = {"map": [], "grid": ["g"], "reconstructions": ["r"]}


async def opened(pilot) -> None:
    """Wait until the checkpoint is open (the app loads it in a worker)."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def opened_on_the_grid(pilot) -> None:
    await opened(pilot)
    await pilot.press("g")
    await opened(pilot)


def test_main_screen_80x24(snap_compare, session, make_app, truecolor):
    assert snap_compare(make_app(session), terminal_size=(80, 24), press=MOVES, run_before=opened)


def test_main_screen_160x48(snap_compare, session, make_app, truecolor):
    assert snap_compare(make_app(session), terminal_size=(160, 48), press=MOVES, run_before=opened)


def test_grid_view_80x24(snap_compare, session, make_app, truecolor):
    keys = ["right", "f"]  # full-size cells that pan
    assert snap_compare(make_app(session), terminal_size=(80, 24), press=keys, run_before=opened_on_the_grid)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_bundled_checkpoint(snap_compare, bundled_session, make_app, truecolor, view, size):
    async def shown(pilot) -> None:
        await opened(pilot)
        for key in VIEWS[view]:
            await pilot.press(key)
        await opened(pilot)

    keys = ["right", "right", "up"]  # the cursor a little off the origin: (0.2, 0.1), its grid cell highlighted
    assert snap_compare(make_app(bundled_session), terminal_size=size, press=keys, run_before=shown)
