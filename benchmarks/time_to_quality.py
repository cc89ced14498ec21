"""Seconds of training until the test loss first drops below 150 nats per image: `vae train` vs the baseline.

    python benchmarks/time_to_quality.py [--quick] [--recipe fast] [--threshold 150] [--seeds 3]

Both sides are timed on training alone (the per-epoch test evaluation is not counted) and evaluated with the same
function, vae_core.evaluation.negative_elbo, on the full test set. Near the threshold the test loss of a short run
varies by about half a nat from seed to seed, which moves its crossing by an epoch or two: ours runs with several
seeds and the median crossing is compared.
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
    parser.add_argument("--seeds", type=int, default=3, help="runs of ours, with seeds 0..N-1")
    args = parser.parse_args()
    train_set, test_set = mnist_or_exit()
    threshold, max_epochs = args.threshold, args.max_epochs
    if args.quick:
        train_set, test_set, threshold, max_epochs = train_set.subset(2000), test_set.subset(1000), 250.0, 2
    device = resolve_device(args.device)
    print(f"machine: {machine()}; device {device}; threshold {threshold} nats; {len(train_set):,} training images")

    crossings: dict[str, tuple[float, int] | None] = {"baseline": None}

    def baseline_check(epoch, model, seconds) -> bool:
        loss = negative_elbo(model, test_set.images.to(device)).total
        print(f"  baseline epoch {epoch:3d}: test {loss:7.2f} after {seconds:6.1f} s")
        if loss < threshold:
            crossings["baseline"] = (seconds, epoch)
        return loss < threshold

    baseline_epochs(train_set.images, max_epochs, device, after_epoch=baseline_check)

    ours: list[tuple[float, int]] = []
    for seed in range(args.seeds):
        stop = StopFlag()

        def ours_check(event, seed=seed, stop=stop) -> None:
            if isinstance(event, EpochEnded):
                test, seconds = event.test.total, event.elapsed_s
                print(f"  ours (seed {seed}) epoch {event.epoch:3d}: test {test:7.2f} after {seconds:6.1f} s")
                if test < threshold and not stop.is_set():
                    ours.append((seconds, event.epoch))
                    stop.set()

        config = recipe(args.recipe, seed=seed, **({"epochs": max_epochs} if args.quick else {}))
        train(train_set, test_set, config, device, on_event=ours_check, stop=stop)

    if crossings["baseline"] is None or len(ours) < args.seeds:
        print(f"not every run crossed {threshold}: baseline {crossings['baseline']}, ours {ours}")
        return
    base_s, base_epochs = crossings["baseline"]
    median_s = statistics.median(seconds for seconds, _ in ours)
    print(f"baseline  {base_s:6.1f} s ({base_epochs} epochs)")
    print(f"ours      {median_s:6.1f} s median of {', '.join(f'{s:.1f} s ({e} epochs)' for s, e in ours)}")
    print(f"ratio ours/baseline: {median_s / base_s:.2f}x (target <= 0.25x)")


if __name__ == "__main__":
    main()
