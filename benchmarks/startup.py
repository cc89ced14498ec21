"""Start-up time of `vae --help` (and a subcommand's --help) against `python -c pass`, in the same run.

    python benchmarks/startup.py [--quick] [--runs 10]

The commands run in turn, round after round, so a busy moment slows all of them; each gets a median and range.

The goal: `vae --help` under 0.3 s, which needs torch imported only by the commands that use it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from baseline import machine

VAE = str(Path(sys.executable).with_name("vae"))
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "vae --help": [VAE, "--help"],
    "vae train --help": [VAE, "train", "--help"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
}


def wall_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each (CI)")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    print(f"machine: {machine()}; {runs} round(s), each running every command once, in turn")
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, command in COMMANDS.items():
            times[name].append(wall_seconds(command))
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<28}{'median':>9}{'range':>17}{'vs python -c pass':>20}")
    for name, values in times.items():
        median = statistics.median(values)
        spread = f"{min(values):.3f}-{max(values):.3f} s"
        print(f"{name:<28}{median:>8.3f}s{spread:>17}{median / base:>19.1f}x")


if __name__ == "__main__":
    main()
