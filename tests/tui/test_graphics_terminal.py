"""`vae explore` in real terminals: Sixel pixels in xterm under Xvfb, and no image escapes where cells are due.

Skipped where xterm, Xvfb, ImageMagick's import, xdotool or tmux are missing (CI installs them).
"""

from __future__ import annotations

import io
import os
import re
import select
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from PIL import Image

from tests.tui.test_terminal import ROOT, VAE, Tmux, explore_output
from vae_tui.geometry import SIDE
from vae_tui.widgets.digit_panel import panel_layout

SIXEL = re.compile(rb"\x1bP[0-9;]*q")
KITTY = b"\x1b_G"
X_PROGRAMS = ("Xvfb", "xterm", "import", "xdotool")
needs_x = pytest.mark.skipif(
    not all(shutil.which(program) for program in X_PROGRAMS),
    reason=f"needs {', '.join(X_PROGRAMS)} (apt-get install xvfb xterm imagemagick xdotool)",
)
COLUMNS, ROWS = 120, 40
CELLS_GRAY_LEVELS = 32
"""Grays a 256-colour terminal can show: its 24-step ramp, the 6 of the colour cube's diagonal, 2 system grays."""


def graphics_escapes(output: bytes) -> list[bytes]:
    return [found.group() for found in SIXEL.finditer(output)] + ([KITTY] if KITTY in output else [])


@pytest.mark.parametrize(
    ("arguments", "environ"),
    [(["--graphics", "cells"], {"TERM": "xterm-256color"}), ([], {"TERM": "linux"})],
    ids=["--graphics cells", "TERM=linux"],
)
def test_cells_send_no_image_escapes(random_checkpoint, arguments, environ):
    output = explore_output(random_checkpoint, arguments, {"COLORTERM": "truecolor", **environ})
    assert b"Decoded at" in output and "▀".encode() in output
    assert graphics_escapes(output) == []


def test_a_forced_protocol_sends_its_escapes(random_checkpoint):
    """The check above can fail: the same terminal, with Sixel forced, receives Sixel data."""
    output = explore_output(random_checkpoint, ["--graphics", "sixel"], {"TERM": "xterm-256color"})
    assert SIXEL.search(output)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_inside_tmux_auto_draws_cells_and_asks_nothing(random_checkpoint, tmp_path):
    tmux = Tmux(f"vae-graphics-test-{os.getpid()}")
    raw = tmp_path / "pane.bin"
    command = shlex.join([*VAE, "explore", "--checkpoint", str(random_checkpoint)])
    try:
        tmux.run(
            "new-session", "-d", "-s", "explore", "-x", "100", "-y", "30", "-c", str(ROOT), f"sleep 0.5; {command}"
        )
        tmux.run("pipe-pane", "-o", "-t", "explore", f"cat >> {shlex.quote(str(raw))}")
        tmux.wait_for("Decoded at")
        tmux.run("send-keys", "-t", "explore", "Right")
        tmux.wait_for("x +0.100")
        tmux.run("send-keys", "-t", "explore", "q")
        deadline = time.monotonic() + 20
        while b"Decoded at (+0.10" not in raw.read_bytes():
            assert time.monotonic() < deadline, "the pane's output never reached the file"
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "-L", tmux.socket, "kill-server"], capture_output=True)
    output = raw.read_bytes()
    assert "▀".encode() in output and graphics_escapes(output) == []


# ---- xterm (Sixel) under Xvfb -----------------------------------------------------------------------------------


@contextmanager
def x_display() -> Iterator[str]:
    """A virtual X screen of our own; Xvfb picks a free display number and writes it to a pipe."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        assert select.select([read_end], [], [], 30)[0], "Xvfb did not start"
        yield ":" + os.read(read_end, 64).decode().strip()
    finally:
        os.close(read_end)
        server.terminate()
        server.wait(10)


def screenshot(window: str, environ: dict[str, str]) -> Image.Image:
    shot = subprocess.run(["import", "-window", window, "png:-"], env=environ, capture_output=True, check=True)
    return Image.open(io.BytesIO(shot.stdout)).convert("RGB")


def digit_box(shot: Image.Image) -> np.ndarray:
    """The decoded digit's view (inside a cell's margin), where the side panel puts it at 120×40."""
    cell_width, cell_height = shot.width / COLUMNS, shot.height / ROWS
    layout = panel_layout(COLUMNS, ROWS)
    left, top = COLUMNS - layout.width + 1, 2  # the panel's padding; the status line and the panel's title
    columns, rows = int(SIDE * layout.decoded_scale), int(SIDE * layout.decoded_scale) // 2
    box = (
        (left + 1) * cell_width,
        (top + 1) * cell_height,
        (left + columns - 1) * cell_width,
        (top + rows - 1) * cell_height,
    )
    return np.asarray(shot.crop(tuple(round(edge) for edge in box))).astype(int)


def gray_levels(box: np.ndarray) -> int:
    gray = (box[..., 0] == box[..., 1]) & (box[..., 1] == box[..., 2])
    return len(np.unique(box[..., 0][gray]))


def poll(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.3)


@needs_x
def test_xterm_draws_the_digit_in_sixel_pixels_and_redraws_it_after_a_move(tmp_path):
    with x_display() as display:
        environ = {key: value for key, value in os.environ.items() if key not in ("TMUX", "COLORTERM", "NO_COLOR")}
        environ["DISPLAY"] = display
        explore = [*VAE, "explore", "--graphics", "auto"]  # auto: xterm -ti vt340 answers that it draws Sixel
        xterm = subprocess.Popen(
            [
                "xterm", "-ti", "vt340", "-tn", "xterm-256color", "-b", "0",
                "-xrm", "XTerm*decTerminalID: vt340", "-xrm", "XTerm*numColorRegisters: 256",
                "-xrm", "XTerm*allowSendEvents: true",
                "-fa", "DejaVu Sans Mono", "-fs", "11", "-geometry", f"{COLUMNS}x{ROWS}+0+0", "-bg", "black",
                "-fg", "white", "-e", *explore,
            ],
            cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            search = ["xdotool", "search", "--sync", "--class", "xterm"]
            window = subprocess.run(search, env=environ, capture_output=True, text=True, timeout=30).stdout.split()[0]

            def drawn() -> Image.Image | None:
                shot = screenshot(window, environ)
                return shot if gray_levels(digit_box(shot)) > 2 * CELLS_GRAY_LEVELS else None

            first = poll(drawn, 90, "the digit never appeared in more grays than cells can show")
            first.save(tmp_path / "xterm-1.png")
            before = digit_box(first)
            key = ["xdotool", "key", "--window", window, "Right"]
            subprocess.run(key, env=environ, capture_output=True, check=True)

            def moved() -> Image.Image | None:
                shot = drawn()
                changed = shot is not None and (np.abs(digit_box(shot) - before).sum(axis=2) > 0).mean() > 0.05
                return shot if changed else None

            second = poll(moved, 30, "the digit did not change after Right")
            second.save(tmp_path / "xterm-2.png")
            subprocess.run(["xdotool", "key", "--window", window, "q"], env=environ, capture_output=True)
            assert xterm.wait(30) == 0
        finally:
            if xterm.poll() is None:
                xterm.kill()
                xterm.wait()
