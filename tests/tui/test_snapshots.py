"""Screens compared with accepted SVG snapshots (update with --snapshot-update, then look at the SVGs)."""

from __future__ import annotations

MOVES = ["right", "right", "up", "a", "left", "left", "left", "down", "b"]


async def opened(pilot) -> None:
    """Wait until the checkpoint is open (the app loads it in a worker)."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def opened_on_the_grid(pilot) -> None:
    await opened(pilot)
    await pilot.press("g")
    await opened(pilot)


def test_main_screen_80x24(snap_compare, session, make_app):
    assert snap_compare(make_app(session), terminal_size=(80, 24), press=MOVES, run_before=opened)


def test_main_screen_160x48(snap_compare, session, make_app):
    assert snap_compare(make_app(session), terminal_size=(160, 48), press=MOVES, run_before=opened)


def test_grid_view_80x24(snap_compare, session, make_app):
    assert snap_compare(make_app(session), terminal_size=(80, 24), press=["right"], run_before=opened_on_the_grid)
