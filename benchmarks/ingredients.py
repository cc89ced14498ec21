"""What each ingredient of the default recipe buys: the default and one-change variants, trained side by side.

    python benchmarks/ingredients.py [--quick] [--device cuda] [--workers 16] [--seeds 2]

Every run trains from scratch on ../shared/data/mnist with its own seed and reports the true negative ELBO on the
10,000 unaugmented test images, for the weights the recipe keeps (the best epoch by validation, or by training
loss where there is no validation split). Runs go to a pool of processes; the full table is sixteen 150-epoch
runs (8 variants, 2 seeds): a few minutes with 16 workers on one GPU, hours on a 2-core CPU. --quick is a smoke
run on a slice (CI).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
from typing import Any

from baseline import MNIST_DIR, machine, mnist_or_exit

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "without the binarized encoder input": {"binarize_input": False},
    "without the output-bias start": {"init_output_bias": False},
    "without weight averaging (EMA)": {"ema_decay": 0.0},
    "constant learning rate 1e-3 instead of one-cycle": {"schedule": "constant", "lr": 1e-3},
    "100 epochs instead of 150": {"epochs": 100},
    "batch 128 (peak lr 2e-3) instead of 256": {"batch_size": 128, "lr": 2e-3},
    "no validation split (keeps the epoch with the lowest training loss)": {"val_fraction": 0.0},
}


def run_variant(job: tuple[str, dict[str, Any], int, str, bool, int]) -> tuple[str, int, float, float, int]:
    """Train one variant with one seed; returns (name, seed, kept test loss, last-epoch test loss, kept epoch)."""
    name, overrides, seed, device, quick, threads = job
    import torch

    torch.set_num_threads(threads)
    from vae_core.recipes import recipe
    from vae_core.training import train

    train_set, test_set = mnist_or_exit()
    if quick:
        train_set, test_set, overrides = train_set.subset(2000), test_set.subset(1000), {**overrides, "epochs": 2}
    config = recipe("default", seed=seed, precision="fp32", **overrides)
    result = train(train_set, test_set, config, device)
    return name, seed, result.test.total, result.history[-1].test.total, result.best_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two variants, two epochs on a slice (CI)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    mnist_or_exit()  # skip cleanly before starting workers
    variants = dict(list(VARIANTS.items())[:2]) if args.quick else VARIANTS
    seeds = range(1 if args.quick else args.seeds)
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    jobs = [
        (name, overrides, seed, args.device, args.quick, threads)
        for name, overrides in variants.items()
        for seed in seeds
    ]
    print(f"machine: {machine()}; device {args.device}; data {MNIST_DIR}; {len(jobs)} runs, {args.workers} workers")

    results: dict[str, list[tuple[int, float, float, int]]] = {name: [] for name in variants}
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for name, seed, kept, last, epoch in pool.imap_unordered(run_variant, jobs):
            print(f"  {name}, seed {seed}: {kept:.2f} (epoch {epoch}; last epoch {last:.2f})", flush=True)
            results[name].append((seed, kept, last, epoch))

    def mean_kept(name: str) -> float:
        return statistics.mean(kept for _, kept, _, _ in results[name])

    print(f"\n| variant | test loss (mean of seeds {', '.join(map(str, seeds))}) | vs default |\n| --- | ---: | ---: |")
    for name, runs in results.items():
        each = ", ".join(f"{kept:.2f}" for _, kept, _, _ in sorted(runs))
        print(f"| {name} | {mean_kept(name):.2f} ({each}) | {mean_kept(name) - mean_kept('default'):+.2f} |")
    last = statistics.mean(last for _, _, last, _ in results["default"])
    print(
        f"| default, last epoch instead of the best by validation | {last:.2f} | {last - mean_kept('default'):+.2f} |"
    )


if __name__ == "__main__":
    main()
