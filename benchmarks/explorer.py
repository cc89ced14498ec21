"""Responsiveness of `vae explore`, measured with Textual's pilot: first frame, cursor move, grid, map encoding.

    python benchmarks/explorer.py [--quick] [--checkpoint PATH] [--data-dir DIR]

Targets (issue 6): first frame < 3 s (a real `vae explore` in tmux, from launch until its screen shows the
map), cursor move (decode one point, find the nearest test digit, redraw the digit view and the map) < 10 ms,
the 15x15 grid (one batched decode of 225 points and its redraw) < 20 ms, encoding the 10k test set < 1 s.
Each interaction figure is printed beside its baseline in the
same run: the bare vae_core call it wraps, so the widget overhead shows on its own line.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from baseline import MNIST_DIR, machine


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


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e3:7.2f} ms"


async def measure(checkpoint: Path | None, data_dir: Path | None, repeats: int) -> None:
    from vae_tui.app import ExplorerApp, _open
    from vae_tui.widgets.digit_view import DigitView
    from vae_tui.widgets.grid_view import GridView
    from vae_tui.widgets.latent_map import LatentMap

    started = time.perf_counter()
    app = ExplorerApp(partial(_open, checkpoint, data_dir), export_dir=Path("."))
    async with app.run_test(size=(160, 48)) as pilot:
        while app.session is None:
            await pilot.pause(0.01)
        opened = time.perf_counter() - started
        await app.workers.wait_for_complete()
        await pilot.pause()

        import torch

        from vae_core.images import decode_points, encode_means, latent_grid

        print(f"machine: {machine()}; explorer torch threads: {torch.get_num_threads()}")
        print(f"checkpoint open (map usable)      {opened:7.2f} s after the app started (torch imported by then)")
        session = app.session
        view, latent_map = app.query_one("#decoded", DigitView), app.query_one(LatentMap)
        moves, bare_decodes = [], []
        for index in range(repeats):
            point = (0.01 * index, 0.02 * index)
            start = time.perf_counter()
            app.cursor = point
            for y in range(view.size.height):
                view.render_line(y)
            for y in range(latent_map.size.height):
                latent_map.render_line(y)
            moves.append(time.perf_counter() - start)
            start = time.perf_counter()
            decode_points(session.model, [point])
            bare_decodes.append(time.perf_counter() - start)
        print(
            f"cursor move (target < 10 ms)      {median_ms(moves)}   baseline decode_points of 1 point "
            f"{median_ms(bare_decodes)}"
        )

        await pilot.press("g")
        await app.workers.wait_for_complete()
        await pilot.pause()
        grid = app.query_one(GridView)
        grids, bare_grids = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            grid.image = session.grid(15, 2.0)
            grid._render_strips(grid.size.width)
            grids.append(time.perf_counter() - start)
            start = time.perf_counter()
            latent_grid(session.model, 15, 2.0)
            bare_grids.append(time.perf_counter() - start)
        print(
            f"15x15 grid (target < 20 ms)       {median_ms(grids)}   baseline latent_grid alone {median_ms(bare_grids)}"
        )

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
    if shutil.which("tmux"):
        frames = first_frame_in_tmux(1 if args.quick else 5)
        print(f"first frame in tmux (target < 3 s): median {statistics.median(frames):.2f} s of {len(frames)} launches")
    asyncio.run(measure(args.checkpoint, args.data_dir, 5 if args.quick else 100))


if __name__ == "__main__":
    main()
