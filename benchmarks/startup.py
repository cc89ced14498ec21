"""Start-up time of `vae --help` (and a subcommand's --help) against `python -c pass`, in the same run.

    python benchmarks/startup.py [--quick] [--runs 15]

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


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each (CI)")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    print(f"machine: {machine()}; median of {runs} run(s)")
    base = median_seconds(COMMANDS["python -c pass"], runs)
    for name, command in COMMANDS.items():
        seconds = base if name == "python -c pass" else median_seconds(command, runs)
        print(f"{name:<28}{seconds:8.3f} s{seconds / base:8.1f}x python -c pass")


if __name__ == "__main__":
    main()
