"""Leave-one-site-out: how the bundled recipe reads writers it never saw.

    python benchmarks/leave_one_site_out.py --base BASE.keras [--work runs/loso]
        [--data ../shared/data/unipen-dev.jsonl] [--mnist ../shared/data/mnist.npz]
        [--reference MODEL] [--errors-png docs/loso-errors.png] [--json FILE]
        [--teachers A.keras,B.keras] [--augment elastic] [--learning-rate 1e-4] [--label-smoothing 0.1]

For each collection site of the pen data, the recipe's fine-tuning step
(``model/recipe.py``) runs from the common MNIST-only ``BASE`` with that site
left out (not trained on, not used for any choice), and the model is scored on
the site through the drawing pipeline the app uses. A fold whose model already
exists in ``--work`` is scored again, not retrained. Prints per site (with
``--reference``'s figure on the same drawings, by default the bundled model),
per digit (each digit scored by the folds that never saw its writers), the
mean and the worst, the worst confusions, and each fold's MNIST test accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from digitscope.model.augment import PRESETS as AUGMENT_PRESETS
from digitscope.model.evaluation import evaluate_labels
from digitscope.model.inference import load_predictor
from digitscope.model.modelfile import bundled_model_path, read_metadata
from digitscope.model.pen_data import PenDigits, load_pen_digits
from digitscope.model.preprocess import drawings_to_tensors
from digitscope.model.recipe import fine_tune_argv

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def tensors(data: PenDigits) -> np.ndarray:
    return drawings_to_tensors(data.drawings)


def train_fold(args: argparse.Namespace, site: str, model: Path) -> None:
    argv = fine_tune_argv(args.mnist, args.base, args.data, str(model), leave_out_site=site, learning_rate=args.learning_rate)
    if args.teachers:  # a recipe being tried: the step distilled from these MNIST-only models
        argv += ["--teachers", args.teachers]
    if args.augment:  # a recipe being tried: another image augmentation of MNIST in the step
        argv += ["--augment", args.augment]
    if args.label_smoothing:  # a recipe being tried: smoothed targets in the step
        argv += ["--label-smoothing", args.label_smoothing]
    log = model.with_suffix(".log")
    print(f"[{site}] digitscope {' '.join(argv)}  (log: {log})", flush=True)
    started = time.perf_counter()
    with open(log, "w") as fh:
        done = subprocess.run([sys.executable, "-m", "digitscope", *argv], stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode:
        raise SystemExit(f"[{site}] training failed (exit {done.returncode}); see {log}")
    print(f"[{site}] trained in {time.perf_counter() - started:.0f} s", flush=True)


def errors_png(path: Path, cases: list[tuple[np.ndarray, str]]) -> None:
    """Drawings (28, 28) enlarged, each with its caption (here: 'true as read, site')."""
    from PIL import Image, ImageDraw

    cell, cols = 84, 12
    rows = max(1, -(-len(cases) // cols))
    sheet = Image.new("L", (cols * cell, rows * (cell + 14)), 255)
    draw = ImageDraw.Draw(sheet)
    for i, (tensor, caption) in enumerate(cases):
        r, c = divmod(i, cols)
        img = Image.fromarray((255 - tensor * 255).astype(np.uint8)).resize((cell - 4, cell - 4), Image.Resampling.BILINEAR)
        sheet.paste(img, (c * cell + 2, r * (cell + 14) + 2))
        draw.text((c * cell + 4, r * (cell + 14) + cell - 2), caption, fill=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", help="the common MNIST-only model the folds fine-tune (needed to train a fold)")
    ap.add_argument("--work", default="runs/loso", help="folder of the fold models (default: %(default)s)")
    ap.add_argument("--data", default=str(SHARED / "unipen-dev.jsonl"))
    ap.add_argument("--mnist", default=str(SHARED / "mnist.npz"))
    ap.add_argument("--reference", default=str(bundled_model_path()), help="a model to score beside (default: the bundled one)")
    ap.add_argument("--sites", help="only these sites, comma-separated (default: all)")
    ap.add_argument("--errors-png", help="save a picture of every misread held-out drawing")
    ap.add_argument("--json", help="save the figures as JSON")
    ap.add_argument("--teachers", help="train the folds distilled from these models (train's --teachers)")
    ap.add_argument("--augment", choices=tuple(AUGMENT_PRESETS), help="train the folds with this augmentation of MNIST (train's --augment)")
    ap.add_argument("--learning-rate", help="train the folds at this peak learning rate (train's --learning-rate)")
    ap.add_argument("--label-smoothing", help="train the folds with this label smoothing (train's --label-smoothing)")
    args = ap.parse_args()

    data = load_pen_digits(args.data)
    sites = args.sites.split(",") if args.sites else data.site_names()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    reference = load_predictor(args.reference)
    true_all, read_all, ref_all, fold_rows, cases = [], [], [], [], []
    for site in sites:
        model = work / f"{site}.keras"
        if not model.is_file():
            if not args.base:
                raise SystemExit(f"no fold model {model}: name --base to train it")
            train_fold(args, site, model)
        meta = read_metadata(model) or {}
        if (meta.get("pen_data") or {}).get("left_out") != site or site in (meta.get("pen_data") or {}).get("sites", []):
            raise SystemExit(f"{model} was not trained with {site} left out")
        held = data.select([site])
        x = tensors(held)
        read = load_predictor(model).probabilities(x).argmax(axis=1)
        ref = reference.probabilities(x).argmax(axis=1)
        true_all.append(held.labels)
        read_all.append(read)
        ref_all.append(ref)
        for i in np.flatnonzero(read != held.labels):
            cases.append((x[i], f"{int(held.labels[i])} as {int(read[i])}, {site}"))
        fold_rows.append(
            {
                "site": site,
                "drawings": len(held),
                "accuracy": float((read == held.labels).mean()),
                "reference_accuracy": float((ref == held.labels).mean()),
                "per_digit": evaluate_labels(held.labels, read).per_class,
                "mnist_test": meta.get("test_accuracy"),
                "command": meta.get("command"),
            }
        )

    y, pred, ref = np.concatenate(true_all), np.concatenate(read_all), np.concatenate(ref_all)
    pooled, pooled_ref = evaluate_labels(y, pred), evaluate_labels(y, ref)
    accs = [r["accuracy"] for r in fold_rows]
    ref_accs = [r["reference_accuracy"] for r in fold_rows]
    print(f"\nleave-one-site-out on {args.data} ({len(y)} drawings); reference: {args.reference}")
    print(f"{'site':<6}{'drawings':>9}{'left out':>10}{'reference':>11}{'MNIST test':>12}")
    for r in fold_rows:
        mnist = f"{100 * r['mnist_test']:.2f}%" if r["mnist_test"] is not None else "?"
        print(f"{r['site']:<6}{r['drawings']:>9}{100 * r['accuracy']:>9.2f}%{100 * r['reference_accuracy']:>10.2f}%{mnist:>12}")
    print(f"{'mean':<15}{100 * np.mean(accs):>9.2f}%{100 * np.mean(ref_accs):>10.2f}%")
    print(f"{'worst':<15}{100 * min(accs):>9.2f}%{100 * min(ref_accs):>10.2f}%")
    print(f"{'pooled':<15}{100 * pooled.accuracy:>9.2f}%{100 * pooled_ref.accuracy:>10.2f}%")
    print("per digit, left out:  " + "  ".join(f"{d}:{100 * a:.1f}" for d, a in enumerate(pooled.per_class)))
    print("per digit, reference: " + "  ".join(f"{d}:{100 * a:.1f}" for d, a in enumerate(pooled_ref.per_class)))
    print(f"worst digit: {int(np.argmin(pooled.per_class))} at {100 * min(pooled.per_class):.2f}%")
    print("worst confusions, left out: " + ", ".join(f"{t}→{p} ×{c}" for t, p, c in pooled.worst_confusions(8)))
    print("worst confusions, reference: " + ", ".join(f"{t}→{p} ×{c}" for t, p, c in pooled_ref.worst_confusions(8)))
    if args.errors_png:
        errors_png(Path(args.errors_png), cases)
        print(f"the {len(cases)} misread drawings: {args.errors_png}")
    if args.json:
        summary = {
            "data": args.data,
            "reference": args.reference,
            "folds": fold_rows,
            "mean": float(np.mean(accs)),
            "worst": float(min(accs)),
            "pooled": pooled.to_json(),
            "reference_pooled": pooled_ref.to_json(),
        }
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
