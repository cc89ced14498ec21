"""Seconds of training until the test loss first drops below 150 nats per image: `vae train` vs the baseline.

    python benchmarks/time_to_quality.py [--quick] [--recipe fast] [--threshold 150] [--seeds 3]

Both sides are timed on training alone (the per-epoch test evaluation is not counted) and evaluated with the same
function, vae_core.evaluation.negative_elbo, on the full test set after every epoch. Near the threshold the test
loss of a short run varies by about half a nat from seed to seed, which moves its crossing by an epoch or two: both
sides run the same seeds (0..N-1), alternating, and the medians are compared, with each side's range printed.
"""

from __future__ import annotations

import argparse
import statistics

from baseline import baseline_epochs, machine, mnist_or_exit

from vae_core.devices import resolve_device
from vae_core.evaluation import negative_elbo
from vae_core.events import EpochEnded, StopFlag
from vae_core.recipes import recipe
from vae_core.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on a slice with a loose threshold (CI)")
    parser.add_argument("--recipe", default="fast")
    parser.add_argument("--threshold", type=float, default=150.0)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, default=3, help="runs per side, with seeds 0..N-1")
    args = parser.parse_args()
    train_set, test_set = mnist_or_exit()
    threshold, max_epochs = args.threshold, args.max_epochs
    if args.quick:
        train_set, test_set, threshold, max_epochs = train_set.subset(2000), test_set.subset(1000), 250.0, 2
    device = resolve_device(args.device)
    print(f"machine: {machine()}; device {device}; threshold {threshold} nats; {len(train_set):,} training images")

    baseline: list[tuple[float, int]] = []
    ours: list[tuple[float, int]] = []
    # The sides alternate seed by seed, so a busy spell on a shared machine slows both.
    for seed in range(args.seeds):

        def baseline_check(epoch, model, seconds, seed=seed) -> bool:
            loss = negative_elbo(model, test_set.images.to(device)).total
            print(f"  baseline (seed {seed}) epoch {epoch:3d}: test {loss:7.2f} after {seconds:6.1f} s", flush=True)
            if loss < threshold:
                baseline.append((seconds, epoch))
            return loss < threshold

        baseline_epochs(train_set.images, max_epochs, device, seed=seed, after_epoch=baseline_check)
        stop = StopFlag()

        def ours_check(event, seed=seed, stop=stop) -> None:
            if isinstance(event, EpochEnded):
                test, seconds = event.test.total, event.elapsed_s
                line = f"  ours (seed {seed}) epoch {event.epoch:3d}: test {test:7.2f} after {seconds:6.1f} s"
                print(line, flush=True)
                if test < threshold and not stop.is_set():
                    ours.append((seconds, event.epoch))
                    stop.set()

        config = recipe(args.recipe, seed=seed, **({"epochs": max_epochs} if args.quick else {}))
        # Every epoch on the whole test set, as the baseline is judged: the crossing is a full-test figure.
        train(train_set, test_set, config, device, on_event=ours_check, stop=stop, epoch_test_images=None)

    if len(baseline) < args.seeds or len(ours) < args.seeds:
        print(f"not every run crossed {threshold}: baseline {baseline}, ours {ours}")
        return
    base_s, ours_s = (statistics.median(seconds for seconds, _ in runs) for runs in (baseline, ours))
    for name, runs, median_s in (("baseline", baseline, base_s), ("ours", ours, ours_s)):
        seconds = [s for s, _ in runs]
        each = ", ".join(f"{s:.1f} s ({e} epochs)" for s, e in runs)
        print(f"{name:<9} median {median_s:6.1f} s, range {min(seconds):.1f}-{max(seconds):.1f} s: {each}")
    ratios = [s / base_s for s, _ in ours]
    print(
        f"ratio ours/baseline (medians of {args.seeds} seeds each): {ours_s / base_s:.2f}x; "
        f"each of ours over the baseline's median: {min(ratios):.2f}-{max(ratios):.2f}x (target <= 0.25x)"
    )


if __name__ == "__main__":
    main()
