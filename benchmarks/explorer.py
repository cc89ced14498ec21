"""Responsiveness of `vae explore`: what a user feels through a terminal, beside the in-process figures.

    python benchmarks/explorer.py [--quick] [--checkpoint PATH] [--data-dir DIR]

Through a pseudo-terminal (a real `vae explore`, the bundled checkpoint by default, 120x40): **key press to
changed screen** (send an arrow key, read the terminal's output until the status line shows the new coordinates)
and **pointer motion to changed screen** (send an SGR motion report over the map, read until the status line
shows the point under the pointer), median and 95th percentile; and quitting (q to the process's exit).
Targets (issue 11): median <= 30 ms and p95 <= 60 ms for both. Beside them, in the same run, the in-process
figures they wrap (Textual's pilot: setting the cursor and rendering the views; the bare vae_core decode), and
the first frame in tmux (issue 6: < 3 s). The machine's load average is printed: these figures move with it.

Graphics (issue 12: cursor moves as quick in pixels as in cells): the key-press row again with `--graphics sixel`
(the frame then carries the Sixel images), and in process a cursor move drawing the side panel's digits in cells,
in Sixel (encoding included) and with Kitty's protocol (PNG and its messages included), side by side; and the Sixel
encoding of a decoded digit on the 560×560 canvas the side panel draws, ours (vae_tui.sixel, target <= 5 ms) against
textual-image's encoder on the same canvas, the same number of runs.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from functools import partial
from pathlib import Path

from baseline import MNIST_DIR, machine

STATUS = re.compile(rb"x ([+-]\d+\.\d+)  y ([+-]\d+\.\d+)")
PAUSE_S = 0.05
"""Between two measured inputs, as between a person's key presses; not counted."""


class PtyExplorer:
    """`vae explore` on a pseudo-terminal of its own: write input, read what it draws."""

    def __init__(self, arguments: list[str], columns: int, rows: int) -> None:
        vae = str(Path(sys.executable).with_name("vae"))
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the terminal is its stdin, stdout and stderr
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            os.execve(vae, [vae, "explore", *arguments], {**os.environ, "TERM": "xterm-256color"})
        self.output = b""

    def read(self, timeout: float) -> bytes:
        """What the app writes within ``timeout`` seconds of waiting (less where it writes sooner)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            chunk = os.read(self.fd, 1 << 16)
        except OSError:  # the child has gone
            return b""
        self.output += chunk
        return chunk

    def wait_for(self, pattern: bytes, timeout: float = 60.0) -> None:
        deadline = time.perf_counter() + timeout
        while pattern not in self.output:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{pattern!r} never appeared")
            self.read(0.1)

    def settle(self, quiet_s: float = 0.3) -> None:
        """Read until the app has written nothing for ``quiet_s``."""
        while self.read(quiet_s):
            pass

    def send_until(self, data: bytes, changed, timeout: float = 5.0) -> float:
        """Seconds from writing ``data`` until ``changed(new output)`` holds."""
        self.output = b""
        start = time.perf_counter()
        os.write(self.fd, data)
        while not changed(self.output):
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"no change on screen after {data!r}")
            self.read(timeout)
        return time.perf_counter() - start

    def quit(self) -> float:
        """Seconds from pressing q until the process has exited."""
        start = time.perf_counter()
        os.write(self.fd, b"q")
        while self.read(0.05) or os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.perf_counter() - start > 30:
                os.kill(self.pid, signal.SIGKILL)
                raise RuntimeError("vae explore did not exit")
        return time.perf_counter() - start


def shows(x: str, y: str):
    """A test on new output: the status line shows these coordinates."""
    target = (x.encode(), y.encode())
    return lambda output: target in STATUS.findall(output)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(name: str, samples: list[float]) -> None:
    median, p95, most = statistics.median(samples) * 1e3, percentile(samples, 0.95) * 1e3, max(samples) * 1e3
    print(f"{name:<44} median {median:6.1f} ms   p95 {p95:6.1f} ms   max {most:6.1f} ms   n={len(samples)}")


def through_a_terminal(arguments: list[str], moves: int, pointer: bool = True, label: str = "pty") -> None:
    """Key press → changed screen and pointer motion → changed screen, through a pseudo-terminal at 120x40."""
    explorer = PtyExplorer(arguments, 120, 40)
    explorer.wait_for(b"Nearest test")
    explorer.settle(1.0)
    keys = []
    for index in range(moves):
        right = index % 2 == 0
        expected = shows("+0.100" if right else "+0.000", "+0.000")
        keys.append(explorer.send_until(b"\x1b[C" if right else b"\x1b[D", expected))
        explorer.settle(PAUSE_S)
    report(f"key press -> changed screen ({label})", keys)
    if not pointer:
        print(f"{'quit (q -> process exited)':<44} {explorer.quit():.2f} s")
        return
    motions = []
    for index in range(moves):
        # Over the map's left half, inside its border: two columns that alternate, so each report moves the point.
        column = 20 + (index % 2) * 10 + (index // 2) % 5
        row = 12 + (index // 10) % 10
        before = STATUS.findall(explorer.output)
        motions.append(
            explorer.send_until(
                f"\x1b[<35;{column};{row}M".encode(),
                lambda output, before=before: b"(pointer" in output and STATUS.findall(output) != before,
            )
        )
        explorer.settle(PAUSE_S)
    report("pointer motion -> changed screen (pty)", motions)
    print(f"{'quit (q -> process exited)':<44} {explorer.quit():.2f} s")


def first_frame_in_tmux(runs: int) -> list[float]:
    """Seconds from starting `vae explore` in a detached tmux until its screen shows the latent map's frame."""
    vae = str(Path(sys.executable).with_name("vae"))
    times = []
    for _ in range(runs):
        server = ["tmux", "-L", "vae-bench"]
        start = time.perf_counter()
        subprocess.run(
            [*server, "new-session", "-d", "-s", "bench", "-x", "120", "-y", "40", vae, "explore"], check=True
        )
        while time.perf_counter() - start < 30:
            screen = subprocess.run([*server, "capture-pane", "-p", "-t", "bench"], capture_output=True, text=True)
            if "Latent map" in screen.stdout:
                times.append(time.perf_counter() - start)
                break
            time.sleep(0.02)
        subprocess.run([*server, "kill-server"], capture_output=True)
        time.sleep(1)  # let the tmux server exit before the next launch starts a new one
    return times


def draw_side_panel(app) -> None:
    """Render the decoded and nearest digits as a frame would: half blocks, or the image widgets' output."""
    from textual.geometry import Region

    from vae_tui.graphics import PixelPicture
    from vae_tui.widgets.digit_view import DigitView

    for view in app.query(DigitView):
        pictures = view.query(PixelPicture)
        if not pictures:
            for y in range(view.size.height):
                view.render_line(y)
            continue
        for widget in pictures.first().walk_children():
            widget.render_lines(Region(0, 0, *widget.size))


async def graphics_moves(checkpoint: Path | None, repeats: int) -> None:
    """A cursor move, in process, drawing the side panel in cells, Sixel and Kitty's protocol (same points)."""
    import io

    from vae_tui.app import ExplorerApp, open_for_exploring
    from vae_tui.graphics import Graphics, kitty_image_widget, sixel_image_widget

    real_stdout, sys.__stdout__ = sys.__stdout__, io.StringIO()  # Kitty's messages go to stdout: keep them here
    try:
        modes = {"cells": None, "sixel": sixel_image_widget(), "kitty": kitty_image_widget()}
        for mode, widget in modes.items():
            graphics = None if widget is None else Graphics(mode, widget, (10, 20))
            app = ExplorerApp(partial(open_for_exploring, checkpoint, None), export_dir=Path("."), graphics=graphics)
            async with app.run_test(size=(120, 40)) as pilot:
                while app.session is None:
                    await pilot.pause(0.01)
                await pilot.pause()
                moves = []
                for index in range(repeats):
                    start = time.perf_counter()
                    app.cursor = (0.01 * index, 0.02 * index)
                    draw_side_panel(app)
                    moves.append(time.perf_counter() - start)
                    sys.__stdout__.seek(0)
                    sys.__stdout__.truncate()
                app.exit()
            report(f"cursor move, in process, digits in {mode}", moves)
    finally:
        sys.__stdout__ = real_stdout


def sixel_encoders(checkpoint: Path | None, repeats: int) -> None:
    """Encoding one decoded digit on a 560×560 canvas: vae_tui.sixel against textual-image's encoder (baseline)."""
    from textual_image._sixel import image_to_sixels as textual_image_sixels

    from vae_tui.graphics import fit_picture
    from vae_tui.session import open_session
    from vae_tui.sixel import image_to_sixels

    canvas = fit_picture(open_session(checkpoint, None).decode((0.3, -0.5)), 560, 560)[0]
    for name, encode in (("ours", image_to_sixels), ("baseline: textual-image", textual_image_sixels)):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            sixels = encode(canvas)
            times.append(time.perf_counter() - start)
        report(f"sixel encode 560x560, {name}", times)
        print(f"{'':<44} {len(sixels):,} characters")


async def in_process(checkpoint: Path | None, data_dir: Path | None, repeats: int) -> None:
    """The same interactions inside the process, Textual's pilot driving: the baseline the terminal figures wrap."""
    from vae_tui.app import ExplorerApp, open_for_exploring
    from vae_tui.messages import PointerMoved
    from vae_tui.widgets.digit_view import DigitView
    from vae_tui.widgets.grid_view import GridView
    from vae_tui.widgets.latent_map import LatentMap

    started = time.perf_counter()
    app = ExplorerApp(partial(open_for_exploring, checkpoint, data_dir), export_dir=Path("."))
    async with app.run_test(size=(120, 40)) as pilot:
        while app.session is None:
            await pilot.pause(0.01)
        opened = time.perf_counter() - started
        await app.workers.wait_for_complete()
        await pilot.pause()

        import torch

        from vae_core.images import decode_points, encode_means, latent_grid

        print(f"explorer torch threads: {torch.get_num_threads()}")
        print(f"checkpoint open (map usable)      {opened:7.2f} s after the app started (torch imported by then)")
        session = app.session
        view, latent_map = app.query_one("#decoded", DigitView), app.query_one(LatentMap)

        def draw() -> None:
            for y in range(view.size.height):
                view.render_line(y)
            for y in range(latent_map.size.height):
                latent_map.render_line(y)

        moves, hovers, bare_decodes = [], [], []
        for index in range(repeats):
            point = (0.01 * index, 0.02 * index)
            start = time.perf_counter()
            app.cursor = point
            draw()
            moves.append(time.perf_counter() - start)
            start = time.perf_counter()
            latent_map.post_message(PointerMoved((-point[0], point[1])))
            while app.pointer != (-point[0], point[1]) or app.previews <= index:
                await asyncio.sleep(0)
            draw()
            hovers.append(time.perf_counter() - start)
            start = time.perf_counter()
            decode_points(session.model, [point])
            bare_decodes.append(time.perf_counter() - start)
        report("cursor move, in process (set + draw)", moves)
        report("pointer preview, in process (post + frame wait + draw)", hovers)
        report("baseline: decode_points of 1 point", bare_decodes)

        await pilot.press("g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        grid = app.query_one(GridView)
        grids, bare_grids = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            grid.image = session.grid(15, 2.0)
            grid.grid_strips(grid.size.width)
            grids.append(time.perf_counter() - start)
            start = time.perf_counter()
            latent_grid(session.model, 15, 2.0)
            bare_grids.append(time.perf_counter() - start)
        report("15x15 whole grid, decode + draw (< 20 ms)", grids)
        report("baseline: latent_grid alone", bare_grids)

        from vae_core.data import MNIST

        if data_dir is not None and (data_dir / "t10k-images-idx3-ubyte.gz").is_file():
            images = MNIST.load("test", data_dir, download=False).images
            encodes = []
            for _ in range(3):
                start = time.perf_counter()
                encode_means(session.model, images)
                encodes.append(time.perf_counter() - start)
            print(f"encode {len(images):,} test digits (target < 1 s) {statistics.median(encodes):7.3f} s")
        app.exit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (CI)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the bundled checkpoint")
    parser.add_argument("--data-dir", type=Path, default=MNIST_DIR if MNIST_DIR.is_dir() else None)
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    arguments = ["--checkpoint", str(args.checkpoint)] if args.checkpoint else []
    moves = 10 if args.quick else 120
    through_a_terminal(arguments, moves)
    through_a_terminal([*arguments, "--graphics", "sixel"], moves, pointer=False, label="pty, sixel")
    asyncio.run(graphics_moves(args.checkpoint, 5 if args.quick else 100))
    sixel_encoders(args.checkpoint, 5 if args.quick else 100)
    if shutil.which("tmux"):
        frames = first_frame_in_tmux(1 if args.quick else 5)
        print(f"first frame in tmux (target < 3 s): median {statistics.median(frames):.2f} s of {len(frames)} launches")
    asyncio.run(in_process(args.checkpoint, args.data_dir, 5 if args.quick else 100))
    print(f"load average at the end {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
