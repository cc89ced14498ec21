"""Screens compared with accepted SVG snapshots (update with --snapshot-update, then look at the SVGs)."""

from __future__ import annotations

MOVES = ["right", "right", "up", "a", "left", "left", "left", "down", "b"]


def test_main_screen_80x24(snap_compare, session, make_app):
    assert snap_compare(make_app(session), terminal_size=(80, 24), press=MOVES)


def test_main_screen_160x48(snap_compare, session, make_app):
    assert snap_compare(make_app(session), terminal_size=(160, 48), press=MOVES)


def test_grid_view_80x24(snap_compare, session, make_app):
    async def show_grid(pilot) -> None:
        await pilot.press("g")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_app(session), terminal_size=(80, 24), press=["right"], run_before=show_grid)
