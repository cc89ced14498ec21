"""Peak resident memory of a CPU training run: vae_core's loop (uint8 images, float per batch) vs the baseline.

    python benchmarks/memory.py [--quick]

Each side runs in a child process of its own, which prints its own peak RSS as the kernel counts it (ru_maxrss).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from baseline import machine

HERE = Path(__file__).resolve().parent
BASELINE = (
    "from baseline import baseline_epochs, mnist_or_exit; import torch; t, _ = mnist_or_exit(); {limit}"
    "baseline_epochs(t.images, 1, torch.device('cpu'))"
)
OURS = (
    "from baseline import mnist_or_exit; from vae_core.recipes import TrainConfig; "
    "from vae_core.training import train; t, _ = mnist_or_exit(); "
    "{limit}train(t, None, TrainConfig(epochs=1, batch_size=128, val_fraction=0))"
)


def peak_rss_mib(code: str) -> float:
    """Peak RSS of a fresh Python process running ``code``, in MiB (Linux reports ru_maxrss in KiB)."""
    report = "; import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    result = subprocess.run([sys.executable, "-c", code + report], check=True, cwd=HERE, capture_output=True, text=True)
    return int(result.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="train on 2,000 images (CI)")
    args = parser.parse_args()
    limit = "t = t.subset(2000); " if args.quick else ""
    print(f"machine: {machine()}")
    idle = peak_rss_mib("import torch, vae_core.training")
    ours = peak_rss_mib(OURS.format(limit=limit))
    baseline = peak_rss_mib(BASELINE.format(limit=limit))
    print(f"python + torch imported   {idle:8.0f} MiB")
    print(f"ours, one epoch           {ours:8.0f} MiB")
    print(f"baseline, one epoch       {baseline:8.0f} MiB  (ours/baseline {ours / baseline:.2f}x)")


if __name__ == "__main__":
    main()
