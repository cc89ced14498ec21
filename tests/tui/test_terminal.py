"""`vae explore` in a real terminal: tmux runs it, sends keys and reads the screen back (skipped without tmux)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shlex
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VAE = [sys.executable, "-c", "import sys; from cli import app; sys.argv[0] = 'vae'; app()"]
"""`vae`, run from the source tree so the command is this checkout's cli.py."""
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
SGR = re.compile(rb"\x1b\[([0-9;:]*)m")
STATUS = re.compile(r"x ([+-]\d+\.\d+)  y ([+-]\d+\.\d+)")


class Tmux:
    """One tmux server of our own (its own socket), so the test never touches the user's sessions."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *arguments: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *arguments], capture_output=True, text=True, check=True)
        return result.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "explore")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen shows:\n{screen}")
            time.sleep(0.2)


@pytest.fixture
def tmux():
    server = Tmux(f"vae-explore-test-{os.getpid()}")
    yield server
    subprocess.run(["tmux", "-L", server.socket, "kill-server"], capture_output=True)


def start_in_tmux(tmux: Tmux, checkpoint: Path, idx_dir: Path) -> None:
    command = shlex.join([*VAE, "explore", "--checkpoint", str(checkpoint), "--data-dir", str(idx_dir)])
    tmux.run(
        "new-session", "-d", "-s", "explore", "-x", "100", "-y", "30", "-c", str(ROOT),
        f"{command}; echo vae exited with $?; sleep 30",
    )  # fmt: skip


@needs_tmux
def test_vae_explore_in_tmux(tmux, random_checkpoint, idx_dir):
    start_in_tmux(tmux, random_checkpoint, idx_dir)
    tmux.wait_for("Latent map")
    tmux.wait_for("Nearest test")  # the 100 fake test digits were encoded in the background
    tmux.run("send-keys", "-t", "explore", "Right", "Right", "Up")
    screen = tmux.wait_for("x +0.200  y +0.100")
    assert "Decoded at (+0.20, +0.10)" in screen
    assert "▀" in screen
    tmux.run("send-keys", "-t", "explore", "g")
    tmux.wait_for("Grid 15×15 over ±2")
    tmux.run("send-keys", "-t", "explore", "q")
    tmux.wait_for("vae exited with 0")


def status_point(screen: str) -> tuple[str, str]:
    match = STATUS.search(screen)
    assert match, screen
    return match.groups()


@needs_tmux
def test_pointer_motion_in_tmux_shows_the_point_under_the_pointer(tmux, random_checkpoint, idx_dir):
    start_in_tmux(tmux, random_checkpoint, idx_dir)
    tmux.wait_for("Nearest test")
    seen = []
    # SGR mouse reports of motion with no button (35 = 32 motion + 3 none) at 1-based (column, row), over the map.
    for column, row in [(20, 10), (40, 12), (30, 20)]:
        tmux.run("send-keys", "-t", "explore", "-l", f"\x1b[<35;{column};{row}M")
        deadline = time.monotonic() + 10
        while "(pointer" not in (screen := tmux.screen()) or status_point(screen) in seen:
            assert time.monotonic() < deadline, screen
            time.sleep(0.1)
        x, y = status_point(screen)
        seen.append((x, y))
        shown = re.search(r"Decoded at \(([+-][\d.]+), ([+-][\d.]+)\)", screen)
        assert shown and (float(shown[1]), float(shown[2])) == pytest.approx((float(x), float(y)), abs=0.006)
    assert float(seen[0][0]) < float(seen[1][0]) and float(seen[1][1]) > float(seen[2][1])  # right, then down
    tmux.run("send-keys", "-t", "explore", "g")
    first_row = tmux.wait_for("Grid 15×15 over ±2").splitlines()[2]
    column = first_row.index("▀") + 2  # the grid's first pixel column, 1-based, and one further in
    tmux.run("send-keys", "-t", "explore", "-l", f"\x1b[<35;{column};3M")  # the top-left cell: (-2, +2)
    tmux.wait_for("x -2.000  y +2.000 (pointer")
    tmux.run("send-keys", "-t", "explore", "q")
    tmux.wait_for("vae exited with 0")


def explore_output(checkpoint: Path, arguments: list[str], environ: dict[str, str]) -> bytes:
    """Every byte `vae explore` writes to a pseudo-terminal (100×30) from launch until q ends it."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pseudo-terminal is its stdin, stdout and stderr
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.chdir(ROOT)
        command = [*VAE, "explore", "--checkpoint", str(checkpoint), *arguments]
        os.execve(sys.executable, command, {**os.environ, **environ})
    output, deadline, quitting = b"", time.monotonic() + 30, False
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                output += os.read(fd, 1 << 16)
            except OSError:  # the child closed the terminal: it has exited
                break
        if not quitting and b"Decoded at" in output:
            time.sleep(0.5)  # the digits drawn: read that frame, then quit
            os.write(fd, b"q")
            quitting = True
    os.close(fd)
    assert os.waitpid(pid, 0)[1] == 0, output[-2000:]
    return output


def colour_parameters(output: bytes) -> list[bytes]:
    """The SGR parameter lists that set a colour (38: foreground, 48: background) anywhere in them."""
    found = []
    for match in SGR.finditer(output):
        parameters = match.group(1).replace(b":", b";").split(b";")
        if b"38" in parameters or b"48" in parameters:
            found.append(match.group(1))
    return found


TERMINAL = {"TERM": "xterm-256color", "COLORTERM": "", "NO_COLOR": ""}


@pytest.mark.parametrize(
    ("arguments", "environ"),
    [(["--colors", "none"], {}), ([], {"NO_COLOR": "1"})],
    ids=["--colors none", "NO_COLOR"],
)
def test_without_colour_no_colour_codes_reach_the_terminal(random_checkpoint, arguments, environ):
    environ = {**TERMINAL, **environ}
    if "NO_COLOR" not in environ or not environ["NO_COLOR"]:
        environ.pop("NO_COLOR")
    output = explore_output(random_checkpoint, arguments, environ)
    assert b"Latent map" in output and "█".encode() in output  # drawn, in shapes
    assert b"\x1b[38" not in output and b"\x1b[48" not in output
    assert colour_parameters(output) == []


@pytest.mark.parametrize(
    ("environ", "truecolor"),
    [
        ({"TERM": "xterm-direct"}, True),
        ({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, True),
        ({"TERM": "xterm-256color"}, False),
    ],
    ids=["TERM=xterm-direct", "COLORTERM=truecolor", "TERM=xterm-256color"],
)
def test_truecolor_terminals_get_truecolor(random_checkpoint, environ, truecolor):
    environ = {**TERMINAL, **environ}
    environ.pop("NO_COLOR")
    output = explore_output(random_checkpoint, [], environ)
    parameters = b" ".join(colour_parameters(output))
    assert (b"38;2;" in parameters) is truecolor
    assert (b"38;5;" in parameters) is not truecolor
