"""Personalisation: does fine-tuning on a few of one writer group's drawings pay?

    python benchmarks/personalisation.py [--sites apb,gmd,tos,aga,art] [--per-digit 20]
        [--epochs 1] [--weight W] [--learning-rate LR] [--train-layers all|dense] [--limit N] [--seed 0]
        [--data ../shared/data/unipen-dev.jsonl] [--mnist ../shared/data/mnist.npz]

For each UNIPEN collection site of unipen-dev, on its own and always starting
again from the bundled model:

1. pick ``--per-digit`` drawings of each digit of that site (seeded random) and
   save them as "my drawings" (``DrawingStore``) in a temporary folder;
2. fine-tune the bundled model on MNIST + those drawings, exactly as the app's
   Retrain / ``digitscope train --init-model ... --drawings ...`` does
   (``run_training``), with no drawings held out (the rest of the site is the test set);
3. measure the error rate on the rest of that site's drawings before (bundled
   model) and after (fine-tuned model), and the fine-tuned model's MNIST test accuracy.

A digit with too few drawings (site "art" has only 9 sevens) gives at most half
of its drawings to training, so every digit keeps at least half in the test set;
the n_train column shows what was used. No unipen drawing other than the chosen
ones of the site being personalised is ever trained on. Models are written to a
temporary directory and deleted. ``--limit N`` trains on the first N MNIST images
only (quick trials; the MNIST figures are then not comparable).

Defaults (weight 30, learning rate 3e-4, 1 epoch) were chosen on site gmd with
full MNIST: weight 10 / 2e-4 cut its errors 12 → 7 (MNIST −0.05 points);
weight 30 / 3e-4 cut them 12 → 5 (MNIST −0.03 points).

The aim (from the issue): error on the rest of the site at least halved for
every site, MNIST test accuracy down by at most 0.2 points.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zlib
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_DATA = DATA_DIR / "unipen-dev.jsonl"
DEFAULT_MNIST = DATA_DIR / "mnist.npz"
SITES = ("apb", "gmd", "tos", "aga", "art")


def choose_training(labels: np.ndarray, per_digit: int, seed: int, site: str) -> np.ndarray:
    """Indices (into one site's rows) of the drawings to train on: per digit,
    ``min(per_digit, n // 2)`` of its ``n`` drawings, chosen with a seeded RNG."""
    rng = np.random.default_rng([seed, zlib.crc32(site.encode())])
    chosen: list[int] = []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        k = min(per_digit, len(idx) // 2)
        chosen += [int(i) for i in rng.permutation(idx)[:k]]
    return np.array(sorted(chosen), dtype=np.int64)


def error_rate(predictor, tensors: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Error rate (0–1) and the per-drawing 'wrong' flags."""
    wrong = predictor.probabilities(tensors).argmax(axis=1) != labels
    return float(wrong.mean()) if len(wrong) else float("nan"), wrong


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", default=",".join(SITES), help="comma-separated sites (default: %(default)s)")
    ap.add_argument("--per-digit", type=int, default=20, help="drawings per digit to train on (default: %(default)s)")
    ap.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs (default: %(default)s)")
    ap.add_argument("--weight", type=float, default=30.0, help="weight of each drawing vs one MNIST image (default: %(default)s)")
    ap.add_argument("--learning-rate", type=float, default=3e-4, help="Adam's initial rate, cosine-decayed (default: %(default)s)")
    ap.add_argument("--augment", default="drawn", help="augmentation preset or 'off' (default: %(default)s)")
    ap.add_argument("--validation-split", type=float, default=0.0,
                    help="share of MNIST + drawings held out for validation (default: %(default)s, so every chosen drawing is trained on)")
    ap.add_argument("--train-layers", choices=("all", "dense"), default="all", help="layers fine-tuned (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=None, help="train on the first N MNIST images only (quick trials)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the choice of drawings and of training (default: %(default)s)")
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--mnist", default=str(DEFAULT_MNIST))
    args = ap.parse_args()

    missing = [p for p in (args.data, args.mnist) if not Path(p).is_file()]
    if missing:
        print(f"skipped: data file(s) missing: {', '.join(missing)}")
        return 0
    sites = [s.strip() for s in args.sites.split(",") if s.strip()]

    from digitscope.model.tf_setup import quiet_tensorflow

    quiet_tensorflow()
    from digitscope.model.drawing import Drawing
    from digitscope.model.inference import load_predictor
    from digitscope.model.mnist import as_inputs, load_mnist
    from digitscope.model.modelfile import bundled_model_path
    from digitscope.model.my_drawings import DrawingStore
    from digitscope.model.preprocess import drawings_to_tensors
    from digitscope.model.train_run import TrainRequest, run_training

    started = time.perf_counter()
    with open(args.data, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    unknown = sorted(set(sites) - {r.get("site") for r in rows})
    if unknown:
        print(f"no drawings of site(s) {', '.join(unknown)} in {args.data}", file=sys.stderr)
        return 2
    bundled_path = bundled_model_path()
    bundled = load_predictor(bundled_path)
    mnist = load_mnist(args.mnist)
    bundled_mnist = float((bundled.probabilities(as_inputs(mnist.x_test)).argmax(axis=1) == mnist.y_test).mean())

    print(f"bundled model: {bundled_path} (MNIST test accuracy {100 * bundled_mnist:.2f}%)")
    print(f"data: {args.data}; MNIST: {args.mnist}" + (f" (first {args.limit} training images only)" if args.limit else ""))
    print(
        f"fine-tune ({args.train_layers} layers): {args.epochs} epoch(s) on MNIST + up to {args.per_digit} drawings per digit of the site, "
        f"weight {args.weight:g}, learning rate {args.learning_rate:g}, augment {args.augment}, "
        f"validation split {args.validation_split:g}, seed {args.seed}"
    )
    print()

    results = []
    for site in sites:
        site_rows = [r for r in rows if r.get("site") == site]
        drawings = [Drawing.from_json(r) for r in site_rows]
        labels = np.array([r["label"] for r in site_rows], dtype=np.int64)
        train_idx = choose_training(labels, args.per_digit, args.seed, site)
        test_mask = np.ones(len(site_rows), bool)
        test_mask[train_idx] = False
        test_x = drawings_to_tensors(d for d, keep in zip(drawings, test_mask) if keep)
        test_y = labels[test_mask]
        before, wrong_before = error_rate(bundled, test_x, test_y)

        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"personalise-{site}-") as tmp:
            folder = Path(tmp) / "my-drawings"
            store = DrawingStore(folder)
            for i in train_idx:
                store.add(drawings[i], int(labels[i]))
            output = Path(tmp) / "model.keras"
            request = TrainRequest(
                output=output,
                mnist=args.mnist,
                epochs=args.epochs,
                seed=args.seed,
                learning_rate=args.learning_rate,
                validation_split=args.validation_split,
                augment=args.augment,
                init_model=str(bundled_path),
                limit=args.limit,
                command="benchmarks/personalisation.py " + " ".join(sys.argv[1:]),
                drawings=str(folder),
                drawings_weight=args.weight,
                drawings_holdout=0.0,
                compare_model=None,
                train_layers=args.train_layers,
            )
            trained: dict[str, int] = {}

            def progress(event: dict, site: str = site, trained: dict[str, int] = trained) -> None:
                if event.get("event") == "drawings":
                    trained["n"] = event["trained"]
                    if event.get("skipped"):
                        print(f"  {site}: {len(event['skipped'])} drawing(s) skipped", file=sys.stderr)
                elif event.get("event") == "epoch":
                    print(f"  {site}: epoch {event['epoch']} loss {event['loss']:.4f} ({event['seconds']:.0f} s)", file=sys.stderr)

            metadata = run_training(request, progress)
            tuned = load_predictor(output)
            after, wrong_after = error_rate(tuned, test_x, test_y)
        seconds = time.perf_counter() - t0
        result = {
            "site": site,
            "n_train": trained.get("n", len(train_idx)),
            "n_test": len(test_y),
            "wrong_before": int(wrong_before.sum()),
            "wrong_after": int(wrong_after.sum()),
            "fixed": int((wrong_before & ~wrong_after).sum()),
            "broken": int((~wrong_before & wrong_after).sum()),
            "before": before,
            "after": after,
            "mnist": float(metadata["test_accuracy"]),
            "seconds": seconds,
        }
        results.append(result)
        print(
            f"  {site}: error {100 * before:.2f}% → {100 * after:.2f}%, MNIST {100 * result['mnist']:.2f}% ({seconds:.0f} s)",
            file=sys.stderr,
        )

    header = (
        f"{'site':<5} {'n_train':>7} {'n_test':>6} {'err before':>15} {'err after':>15} {'ratio':>6} "
        f"{'fixed':>5} {'broken':>6} {'MNIST after':>11} {'Δ MNIST':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = r["after"] / r["before"] if r["before"] > 0 else (0.0 if r["after"] == 0 else float("inf"))
        r["halved"] = r["after"] <= r["before"] / 2 if r["before"] > 0 else r["after"] == 0
        print(
            f"{r['site']:<5} {r['n_train']:>7} {r['n_test']:>6} "
            f"{100 * r['before']:>6.2f}% ({r['wrong_before']:>3}) {100 * r['after']:>6.2f}% ({r['wrong_after']:>3}) "
            f"{ratio:>6.2f} {r['fixed']:>5} {r['broken']:>6} {100 * r['mnist']:>10.2f}% "
            f"{100 * (r['mnist'] - bundled_mnist):>+7.2f}"
        )
    print("-" * len(header))
    all_before = sum(r["wrong_before"] for r in results)
    all_after = sum(r["wrong_after"] for r in results)
    all_n = sum(r["n_test"] for r in results)
    if all_n:
        print(
            f"{'all':<5} {sum(r['n_train'] for r in results):>7} {all_n:>6} "
            f"{100 * all_before / all_n:>6.2f}% ({all_before:>3}) {100 * all_after / all_n:>6.2f}% ({all_after:>3}) "
            f"{(all_after / all_before if all_before else float('nan')):>6.2f}"
        )
    print("(error columns: rate on the rest of the site, with the count of wrong drawings; "
          "fixed/broken: drawings wrong only before/only after; Δ MNIST in points vs the bundled model)")
    print()
    halved = [r["site"] for r in results if r["halved"]]
    not_halved = [r["site"] for r in results if not r["halved"]]
    max_drop = max((100 * (bundled_mnist - r["mnist"]) for r in results), default=0.0)
    print(
        f"summary: error at least halved on {len(halved)}/{len(results)} sites"
        + (f" (not on: {', '.join(not_halved)})" if not_halved else "")
        + f"; max MNIST drop {max_drop:.2f} points (aim ≤ 0.20)"
        + f"; aim {'met' if not not_halved and max_drop <= 0.2 + 1e-9 else 'NOT met'}"
    )
    print(f"total time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
