"""Two terminals: `vae train` in one tmux session, `vae explore --follow` in another, the second's screen read back
while the first trains (skipped without tmux).

Run as a script, it does the same with the fast recipe on real MNIST and keeps the explorer's screen at two epochs as
text with its colours (.ans), as SVG and, where chromium is installed, as PNG:
``python -m tests.tui.test_follow_tmux --data-dir ../shared/data/mnist --captures DIR``.
"""

from __future__ import annotations

import argparse
import io
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.tui.test_terminal import ROOT, VAE, Tmux, needs_tmux
from tests.tui.test_terminal import tmux as tmux  # the fixture: a tmux server of our own

LIVE = re.compile(r"epoch (\d+)/(\d+), (live|finished)")
SIZE = (120, 40)


def start(tmux: Tmux, name: str, arguments: list[str]) -> None:
    """`vae ARGUMENTS` in a new tmux session of its own: a terminal of its own, as a person opens one."""
    width, height = SIZE
    tmux.run(
        "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), "-c", str(ROOT),
        f"{shlex.join([*VAE, *arguments])}; echo {name} exited with $?; sleep 600",
    )  # fmt: skip


def start_run(tmux: Tmux, run: Path, data_dir: Path, train: list[str]) -> None:
    """`vae explore --follow` first (it waits for the first checkpoint), then `vae train` in another terminal."""
    start(tmux, "explore", ["explore", "--follow", str(run), "--data-dir", str(data_dir), "--colors", "truecolor"])
    tmux.wait_for("waiting for the first checkpoint", timeout=60)
    start(tmux, "train", ["train", "--data-dir", str(data_dir), "--out", str(run), *train])


def epoch_on_screen(screen: str) -> tuple[int, str] | None:
    """The epoch the explorer's status line shows, and whether it says live or finished."""
    found = LIVE.search(screen)
    return (int(found[1]), found[3]) if found else None


def wait_for_epoch(tmux: Tmux, after: int, timeout: float) -> tuple[int, str]:
    """Wait until the explorer shows an epoch later than ``after``; its number and "live" or "finished"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = epoch_on_screen(tmux.screen())
        if shown is not None and shown[0] > after:
            return shown
        time.sleep(0.3)
    training = tmux.run("capture-pane", "-p", "-t", "train")
    raise AssertionError(f"no epoch after {after} appeared; explorer:\n{tmux.screen()}\ntraining:\n{training}")


def map_part(screen: str) -> str:
    """The map's rows, without the status line and footer: what moves between epochs."""
    return "\n".join(screen.splitlines()[2:-2])


@needs_tmux
def test_explore_follows_vae_train_in_another_terminal(tmux, idx_dir, tmp_path):
    run = tmp_path / "live" / "run.safetensors"
    run.parent.mkdir()
    start_run(tmux, run, idx_dir, ["--recipe", "fast", "--epochs", "30", "--batch-size", "32"])
    wait_for_epoch(tmux, 0, timeout=120)
    before = tmux.screen()
    after = tmux.wait_for("epoch 30/30, finished", timeout=180)
    assert map_part(before) != map_part(after), "the map must change as the run trains"


def save_capture(tmux: Tmux, stem: Path) -> str:
    """The explorer's screen as .ans (with colours), .svg and, with chromium, .png; returns its plain text."""
    from rich.console import Console
    from rich.text import Text

    colored = tmux.run("capture-pane", "-p", "-e", "-t", "explore")
    stem.with_suffix(".ans").write_text(colored)
    console = Console(record=True, width=SIZE[0], height=SIZE[1], file=io.StringIO(), color_system="truecolor")
    console.print(Text.from_ansi(colored), end="")
    svg = stem.with_suffix(".svg")
    svg.write_text(console.export_svg(title=stem.name))
    chromium = shutil.which("chromium")
    if chromium:
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={stem.with_suffix('.png')}",
             "--window-size=1500,1010", "--hide-scrollbars", svg.as_uri()],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
    return tmux.screen()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--captures", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp()) / "run.safetensors")
    parser.add_argument("--epochs", type=int, default=None, help="Train this many epochs (default: the recipe's).")
    arguments = parser.parse_args()
    arguments.captures.mkdir(parents=True, exist_ok=True)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    tmux = Tmux("vae-follow-captures")
    try:
        epochs = [] if arguments.epochs is None else ["--epochs", str(arguments.epochs)]
        start_run(tmux, arguments.out, arguments.data_dir, ["--recipe", "fast", "--force", *epochs])
        early = wait_for_epoch(tmux, 0, timeout=600)
        time.sleep(1.5)  # the dots and digit after the status line
        save_capture(tmux, arguments.captures / f"follow-epoch{early[0]:02d}")
        late = early
        while late[1] != "finished":
            late = wait_for_epoch(tmux, late[0], timeout=600)
        time.sleep(1.5)
        save_capture(tmux, arguments.captures / f"follow-epoch{late[0]:02d}-finished")
        print(f"captured epochs {early[0]} and {late[0]} in {arguments.captures}")
    finally:
        subprocess.run(["tmux", "-L", tmux.socket, "kill-server"], capture_output=True)


if __name__ == "__main__":
    main()
