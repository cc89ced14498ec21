"""What keeping the training history costs: the same run with the history and with --no-history, alternating.

    python benchmarks/history.py [--quick] [--rounds 5] [--epochs 3]

After one untimed warm-up run, each round trains the `fast` recipe from scratch twice on ../shared/data/mnist,
once with a HistoryRecorder and once without (both write the checkpoint and resume file; the order alternates
between rounds), and times the whole ``train`` call. It prints the median and spread of each side, the median of
the per-round ratios (target: at most 3 % slower), and the recorder's own time measured inside the runs, which
machine noise does not blur.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from baseline import machine, mnist_or_exit

from vae_core.events import EpochEnded, RunEnd
from vae_core.history import HistoryRecorder
from vae_core.model import VAE


class TimedRecorder(HistoryRecorder):
    """A HistoryRecorder that adds up the seconds it spends."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.seconds = 0.0

    def epoch_ended(self, event: EpochEnded, model: VAE) -> None:
        start = time.perf_counter()
        super().epoch_ended(event, model)
        self.seconds += time.perf_counter() - start

    def run_ended(self, stopped: RunEnd) -> None:
        start = time.perf_counter()
        super().run_ended(stopped)
        self.seconds += time.perf_counter() - start


def timed_run(train_set, test_set, epochs: int, folder: Path, with_history: bool) -> tuple[float, float, float, int]:
    """One run: (wall and CPU seconds of ``train``, seconds inside the recorder, history file bytes)."""
    from vae_core.paths import history_path_for
    from vae_core.recipes import recipe
    from vae_core.training import train

    out = folder / f"run-{with_history}.safetensors"
    recorder = TimedRecorder(history_path_for(out), test_set) if with_history else None
    start, cpu_start = time.perf_counter(), time.process_time()
    train(train_set, test_set, recipe("fast", epochs=epochs), "cpu", out=out, recorder=recorder)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    if recorder is None:
        return seconds, cpu_seconds, 0.0, 0
    return seconds, cpu_seconds, recorder.seconds, history_path_for(out).stat().st_size


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):6.2f} s  (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of one epoch on 2,000 images (CI)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    train_set, test_set = mnist_or_exit()
    rounds, epochs = (1, 1) if args.quick else (args.rounds, args.epochs)
    if args.quick:
        train_set, test_set = train_set.subset(2000), test_set.subset(1000)
    print(f"machine: {machine()}; load average before {os.getloadavg()[0]:.2f}")
    print(f"{rounds} rounds of `fast` for {epochs} epochs on {len(train_set):,} images, {len(test_set):,} test images")
    times: dict[bool, list[float]] = {True: [], False: []}
    cpu_times: dict[bool, list[float]] = {True: [], False: []}
    recorder_seconds, size = [], 0
    with tempfile.TemporaryDirectory() as folder:
        timed_run(train_set, test_set, 1, Path(folder), False)  # warm-up: the first run pays one-time costs
        for round_index in range(rounds):
            for with_history in (True, False) if round_index % 2 == 0 else (False, True):
                seconds, cpu_seconds, inside, written = timed_run(
                    train_set, test_set, epochs, Path(folder), with_history
                )
                times[with_history].append(seconds)
                cpu_times[with_history].append(cpu_seconds)
                if with_history:
                    recorder_seconds.append(inside)
                    size = written
            wall, cpu = (times[True][-1], times[False][-1]), (cpu_times[True][-1], cpu_times[False][-1])
            print(
                f"  round {round_index + 1}: with {wall[0]:.2f} s ({cpu[0]:.2f} s CPU), "
                f"without {wall[1]:.2f} s ({cpu[1]:.2f} s CPU)",
                flush=True,
            )
    share = [inside / total for inside, total in zip(recorder_seconds, times[True], strict=True)]
    for clock, measured in (("wall", times), ("CPU", cpu_times)):
        ratios = [a / b for a, b in zip(measured[True], measured[False], strict=True)]
        print(f"{clock} time, with history   {spread(measured[True])}")
        print(f"{clock} time, --no-history   {spread(measured[False])}")
        print(
            f"{clock} time, ratio per round  median {statistics.median(ratios):.3f} "
            f"(min {min(ratios):.3f}, max {max(ratios):.3f})"
        )
    per_epoch_ms = statistics.median(recorder_seconds) / epochs * 1000
    print(f"recorder's own     median {statistics.median(share):.2%} of the run ({per_epoch_ms:.0f} ms per epoch)")
    print(f"history file       {size:,} bytes after {epochs} epochs; load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
