"""`vae explore` in a real terminal: tmux runs it, sends keys and reads the screen back (skipped without tmux)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


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


def test_vae_explore_in_tmux(tmux, random_checkpoint, idx_dir):
    # `vae explore`, run from the source tree so the command is this checkout's cli.py.
    vae = [sys.executable, "-c", "import sys; from cli import app; sys.argv[0] = 'vae'; app()"]
    command = shlex.join([*vae, "explore", "--checkpoint", str(random_checkpoint), "--data-dir", str(idx_dir)])
    tmux.run(
        "new-session", "-d", "-s", "explore", "-x", "100", "-y", "30", "-c", str(ROOT),
        f"{command}; echo vae exited with $?; sleep 30",
    )  # fmt: skip
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
