"""Seconds per epoch of 60,000 images on a GPU: vae_core's loop vs the tutorial baseline, in the same run.

    python benchmarks/gpu_epoch.py [--quick] [--batch-size 1024] [--precision auto]

The target on an H100 is under 0.25 s per epoch. The 24,680 local training images are tiled to 60,000 so the
epoch has MNIST's full size. Where no CUDA device is present the script says so and exits 0 (it runs unchanged on
a GPU machine); --quick runs one short epoch on whatever device there is, as a smoke test.
"""

from __future__ import annotations

import argparse
import itertools
import statistics

import torch
from baseline import baseline_epochs, machine, mnist_or_exit

from vae_core.events import EpochEnded
from vae_core.recipes import TrainConfig
from vae_core.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small epoch on any device (CI)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    if not torch.cuda.is_available() and not args.quick:
        print("skipped: no CUDA device here; run this script unchanged on a GPU machine")
        return
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_set, _ = mnist_or_exit()
    size, epochs = (2000, 1) if args.quick else (60_000, args.epochs)
    repeats = -(-size // len(train_set))
    train_set.images = train_set.images.repeat(repeats, 1, 1)[:size]
    train_set.labels = train_set.labels.repeat(repeats)[:size]
    print(f"machine: {machine()}; device {device}; {size:,} images per epoch, {epochs} epochs")

    base_seconds, _ = baseline_epochs(train_set.images, 1 if args.quick else 2, device)
    base_epoch = base_seconds / (1 if args.quick else 2)
    ended: list[EpochEnded] = []
    config = TrainConfig(epochs=epochs, batch_size=args.batch_size, lr=2e-3, val_fraction=0, precision=args.precision)
    train(train_set, None, config, device, on_event=lambda e: isinstance(e, EpochEnded) and ended.append(e))
    # The first epoch pays for CUDA kernel selection and warm-up: report the median of the others.
    elapsed = [event.elapsed_s for event in ended]
    per_epoch = [later - earlier for earlier, later in itertools.pairwise(elapsed)] or elapsed
    ours = statistics.median(per_epoch)
    print(f"baseline (batch 128, fp32, .item() per step): {base_epoch:.3f} s per epoch")
    print(
        f"ours (batch {args.batch_size}, precision {args.precision}):        {ours:.3f} s per epoch "
        f"({base_epoch / ours:.1f}x faster; target < 0.25 s on an H100)"
    )


if __name__ == "__main__":
    main()
