"""What each ingredient of the default recipe buys: the default and one-change variants, trained side by side.

    python benchmarks/ingredients.py [--quick] [--device cuda] [--workers 16] [--seeds 2]

Every run trains from scratch on ../shared/data/mnist with its own seed. Rows are ranked by the validation loss of
the weights each recipe keeps (the best epoch by validation, or by training loss where there is no validation
split: that row has no validation figure and comes last); the true negative ELBO on the 10,000 unaugmented test
images is reported in the last column and chooses nothing. Runs go to a pool of processes; the full table is
sixteen 150-epoch runs (8 variants, 2 seeds): a few minutes with 16 workers on one GPU, hours on a 2-core CPU.
--quick is a smoke run on a slice (CI).
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


Outcome = tuple[str, int, float | None, float, float | None, int]
"""(variant, seed, kept validation loss, kept test loss, last epoch's validation loss, kept epoch)."""


def run_variant(job: tuple[str, dict[str, Any], int, str, bool, int]) -> Outcome:
    """Train one variant with one seed and say how its kept weights did."""
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
    kept, last = result.history[result.best_epoch - 1].val, result.history[-1].val
    return name, seed, kept and kept.total, result.test.total, last and last.total, result.best_epoch


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

    results: dict[str, list[Outcome]] = {name: [] for name in variants}
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for outcome in pool.imap_unordered(run_variant, jobs):
            name, seed, val, test, _, epoch = outcome
            shown = "no validation split" if val is None else f"validation {val:.2f}"
            print(f"  {name}, seed {seed}: {shown}, test {test:.2f} (kept epoch {epoch})", flush=True)
            results[name].append(outcome)

    def mean_of(name: str, column: int) -> float | None:
        values = [outcome[column] for outcome in results[name]]
        return None if None in values else statistics.mean(values)

    def row(name: str, val: float | None, each: list[float | None], test: float | None) -> str:
        shown = "—" if val is None else f"{val:.2f}" + (f" ({', '.join(f'{v:.2f}' for v in each)})" if each else "")
        versus = "" if val is None else f"{val - mean_of('default', 2):+.2f}"
        return f"| {name} | {shown} | {versus} | {'—' if test is None else f'{test:.2f}'} |"

    header = f"validation loss (mean of seeds {', '.join(map(str, seeds))})"
    print(
        f"\n| variant (ranked by validation loss) | {header} | vs default | test loss |\n| --- | ---: | ---: | ---: |"
    )
    ranked = sorted(results, key=lambda name: (mean_of(name, 2) is None, mean_of(name, 2) or 0.0))
    for name in ranked:
        runs = sorted(results[name], key=lambda outcome: outcome[1])
        print(row(name, mean_of(name, 2), [outcome[2] for outcome in runs], mean_of(name, 3)))
    print(row("default, last epoch instead of the best by validation", mean_of("default", 4), [], None))


if __name__ == "__main__":
    main()
