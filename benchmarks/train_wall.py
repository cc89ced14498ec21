"""Wall time of the whole `vae train` command, from launch to saved checkpoint: this checkout against a baseline.

    python benchmarks/train_wall.py [--quick] [--runs 3] [--baseline-ref main | --baseline DIR] [--device cpu]

Both sides run the same `vae` script of this venv as a subprocess, each with its own checkout first on PYTHONPATH,
alternately (baseline, ours, baseline, ours, ...) so a noisy neighbour hurts both. Each run prints its wall time,
the CPU seconds it used (user + system: steadier than wall time on a shared machine), the training seconds and
test loss its checkpoint records, and the load average before it; the summary gives the median and range per side.
The baseline is a directory holding another checkout, or a git ref of this repository exported to a temporary
directory. --quick trains 2 epochs on 2,000 images, one run each (CI).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from baseline import MNIST_DIR, ROOT, machine, mnist_or_exit

from vae_core.checkpoints import read_checkpoint_info

VAE = str(Path(sys.executable).with_name("vae"))


def export_ref(ref: str, into: Path) -> Path:
    """The files of git ``ref`` of this repository, written under ``into``."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def timed_run(checkout: Path, args: list[str], workdir: Path) -> dict[str, float]:
    """Run `vae train ARGS` with ``checkout`` first on the path; its wall seconds and what its checkpoint records."""
    out = workdir / "run.safetensors"
    for stale in workdir.iterdir():
        stale.unlink()
    load = os.getloadavg()[0]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([VAE, "train", *args, "--out", str(out)], check=True, capture_output=True, env=env, cwd=workdir)
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    provenance = read_checkpoint_info(out).provenance
    return {
        "wall": wall,
        "cpu": cpu,
        "train": provenance["train_seconds"],
        "test": provenance["test_loss"]["total"],
        "best_epoch": provenance["best_epoch"],
        "load": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs on 2,000 images, one run each (CI)")
    parser.add_argument("--runs", type=int, default=3, help="runs per side")
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU's whole-command figure")
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument("--baseline", type=Path, help="a directory holding the baseline's checkout")
    baseline.add_argument("--baseline-ref", default="main", help="a git ref of this repository (default: main)")
    args = parser.parse_args()
    mnist_or_exit()
    train_args = ["--data-dir", str(MNIST_DIR), "--recipe", args.recipe, "--device", args.device]
    runs = 1 if args.quick else args.runs
    if args.quick:
        train_args += ["--limit", "2000", "--epochs", "2"]
    with tempfile.TemporaryDirectory() as temp:
        temp_dir = Path(temp)
        base_dir = args.baseline or export_ref(args.baseline_ref, temp_dir / "baseline")
        (temp_dir / "work").mkdir()
        sides = {"baseline": base_dir.resolve(), "ours": ROOT}
        print(f"machine: {machine()}; {len(os.sched_getaffinity(0))} cores; baseline {base_dir}")
        print(f"command: vae train {' '.join(train_args)}; {runs} alternating run(s) per side")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
        for round_number in range(1, runs + 1):
            for name, checkout in sides.items():
                result = timed_run(checkout, train_args, temp_dir / "work")
                results[name].append(result)
                print(
                    f"  run {round_number} {name:<8} wall {result['wall']:7.1f} s  CPU {result['cpu']:7.1f} s  "
                    f"training {result['train']:7.1f} s  "
                    f"test {result['test']:.2f} (epoch {result['best_epoch']})  load before {result['load']:.2f}",
                    flush=True,
                )
    for name, values in results.items():
        walls = [value["wall"] for value in values]
        trains = [value["train"] for value in values]
        cpus = [value["cpu"] for value in values]
        tests = ", ".join(f"{value['test']:.2f}" for value in values)
        print(
            f"{name:<9} wall median {statistics.median(walls):7.1f} s (range {min(walls):.1f}-{max(walls):.1f}), "
            f"CPU median {statistics.median(cpus):.1f} s (range {min(cpus):.1f}-{max(cpus):.1f}), "
            f"training median {statistics.median(trains):.1f} s, test {tests}"
        )
    ratio = statistics.median(v["wall"] for v in results["ours"]) / statistics.median(
        v["wall"] for v in results["baseline"]
    )
    print(f"ratio of medians, ours/baseline: {ratio:.2f}x")


if __name__ == "__main__":
    main()
