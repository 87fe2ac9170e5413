"""Leave-one-site-out: which "is it a digit?" verdict flags letters and scribbles, not digits.

    python benchmarks/not_a_digit.py [--folds runs/loso] [--data ../shared/data]
        [--mnist-fit 15000] [--flag-share 0.005] [--kinds network,max_softmax,energy,mahalanobis,detector]
        [--epochs 10] [--synth 0] [--save DIR] [--saved DIR] [--flagged-png FILE] [--cache DIR] [--json FILE]

``network`` is the bundled model's kind (:mod:`digitscope.model.verdict_training`, the same
function ``digitscope verdict`` calls): for each site S a detector network is trained from
scratch without S (MNIST train, the other sites' pen digits and no-digit letters, scribbles
of one seed), its threshold set on digits it was not trained on; about 8 min a fold on 2 cores.
``--save`` keeps each fold's verdict; ``--saved`` scores those again without training.
The other kinds read the CNN's features, as follows.

For each collection site S, the fold CNN ``FOLDS/S.keras`` (trained without S's digits) gives
the dense activations and logits of every drawing; each verdict kind is fitted with the other
four sites only (their digits, their letters that look like no digit, MNIST train, scribbles of
one seed), its threshold set to flag at most ``--flag-share`` of MNIST train and of the four
sites' digits (for the detector: of a 30 % share of them kept out of its fit), and then scored
on S: the share of S's no-digit letters flagged (want ≥ 90 %),
of S's digits flagged (≤ 1 %), of MNIST test flagged (≤ 0.5 %), and of scribbles of another
seed flagged, also of scribble kinds the detector never saw (``unseen``: the kinds are split
in two halves, each half scored by a detector fitted on the other).
Letters that look like digits (O o D Q I i l j J L Z z S s B b G g q T t y Y) count neither way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from digitscope.model.drawing import Drawing
from digitscope.model.inference import limit_blas_threads, load_predictor
from digitscope.model.mnist import as_inputs, load_mnist
from digitscope.model.pen_data import load_pen_digits, load_pen_letters
from digitscope.model.preprocess import drawing_to_tensor
from digitscope.model.scribbles import KINDS as SCRIBBLE_KINDS
from digitscope.model.scribbles import scribble_drawings
from digitscope.model.verdict import Verdict, features, fit
from digitscope.model.verdict_training import DIGIT_LIKE_LETTERS, NO_DIGIT_LETTERS, train_verdict, verdict_data_without
from leave_one_site_out import errors_png

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SITES = ("aga", "apb", "art", "gmd", "tos")


def render(drawings: list[Drawing]) -> np.ndarray:
    return np.stack([drawing_to_tensor(d) for d in drawings])


def load_all(args: argparse.Namespace) -> dict[str, np.ndarray]:
    cache = Path(args.cache) / "not_a_digit_inputs.npz" if args.cache else None
    if cache and cache.is_file():
        return dict(np.load(cache))
    t = time.perf_counter()
    digits = load_pen_digits(args.data / "unipen-dev.jsonl")
    letters, letter_labels, letter_sites = load_pen_letters(args.data / "unipen-letters-dev.jsonl", NO_DIGIT_LETTERS)
    train_scr, train_kinds = scribble_drawings(args.scribbles, seed=1)
    test_scr, test_kinds = scribble_drawings(args.scribbles // 2, seed=2)
    mnist = load_mnist(args.data / "mnist.npz", download=False)
    pick = np.random.default_rng(0).choice(len(mnist.x_train), args.mnist_fit, replace=False)
    inputs = {
        "mnist_train_x": as_inputs(mnist.x_train[pick])[..., 0],
        "mnist_train_y": mnist.y_train[pick].astype(np.int64),
        "mnist_test_x": as_inputs(mnist.x_test)[..., 0],
    }
    inputs.update(
        digit_x=render(digits.drawings), digit_y=digits.labels.astype(np.int64), digit_site=digits.sites.astype(str),
        letter_x=render(letters), letter_label=letter_labels, letter_site=letter_sites,
        scr_train_x=render(train_scr), scr_train_kind=np.array(train_kinds),
        scr_test_x=render(test_scr), scr_test_kind=np.array(test_kinds),
    )
    print(f"rendered {len(digits)} digits, {len(letters)} no-digit letters, {len(train_scr)}+{len(test_scr)} scribbles "
          f"in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **inputs)
    return inputs


def network_fold(site: str, inputs: dict[str, np.ndarray], args: argparse.Namespace) -> dict[str, float]:
    """Train the network verdict without ``site`` and score it on ``site``."""
    if not hasattr(args, "drawings") and not args.saved:
        digits = load_pen_digits(args.data / "unipen-dev.jsonl")
        letters, _, letter_sites = load_pen_letters(args.data / "unipen-letters-dev.jsonl", NO_DIGIT_LETTERS)
        like, _, like_sites = (
            load_pen_letters(args.data / "unipen-letters-dev.jsonl", DIGIT_LIKE_LETTERS) if args.digit_like else ([], [], [])
        )
        mnist_x = as_inputs(load_mnist(args.data / "mnist.npz", download=False).x_train)[..., 0]
        args.drawings = (digits, letters, letter_sites, like, like_sites, mnist_x)
    digits, letters, letter_sites, like, like_sites, mnist_x = getattr(args, "drawings", (None,) * 6)
    started = time.perf_counter()
    if args.saved:
        v = Verdict.from_json(json.loads((args.saved / f"{site}.json").read_text()))
    else:
        data = verdict_data_without(
            mnist_x, digits, letters, letter_sites, [site], like, like_sites, restyle=not args.no_restyle,
            scribbles=args.scribbles_network, synth=args.synth, seed=args.seed,
        )
        v = train_verdict(data, args.epochs, args.flag_share, args.seed)
    fit_s = time.perf_counter() - started
    if args.flagged_png:
        held = inputs["digit_site"] == site
        x, y = inputs["digit_x"][held], inputs["digit_y"][held]
        args.flagged.extend((x[i], f"{int(y[i])}, {site}") for i in np.flatnonzero(~v.is_digit(None, None, None, x)))
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        (args.save / f"{site}.json").write_text(json.dumps(v.to_json()))
    flagged = lambda x: float(np.mean(~v.is_digit(None, None, None, x)))  # noqa: E731 (a one-line scorer reads better here)
    d_out, l_out = inputs["digit_site"] == site, inputs["letter_site"] == site
    letter_flags = ~v.is_digit(None, None, None, inputs["letter_x"][l_out])
    labels = inputs["letter_label"][l_out]
    worst = sorted((float(letter_flags[labels == c].mean()), str(c)) for c in set(labels.tolist()))[:5]
    print(f"  [{site}] network: least flagged letters " + " ".join(f"{c} {100 * r:.0f}%" for r, c in worst), file=sys.stderr, flush=True)
    return {
        "letters": float(letter_flags.mean()),
        "digits": flagged(inputs["digit_x"][d_out]),
        "mnist_test": flagged(inputs["mnist_test_x"]),
        "scribbles": flagged(inputs["scr_test_x"]),
        "unseen": float("nan"),
        "fit_s": fit_s,
    }


def evaluate_fold(site: str, inputs: dict[str, np.ndarray], args: argparse.Namespace) -> dict[str, dict[str, float]]:
    results = {}
    if "network" in args.kinds:
        results["network"] = network_fold(site, inputs, args)
    feature_kinds = [k for k in args.kinds if k != "network"]
    if not feature_kinds:
        return results
    w = load_predictor(args.folds / f"{site}.keras").cnn_weights
    names = ("mnist_train", "mnist_test", "digit", "letter", "scr_train", "scr_test")
    feats = {k: features(w, inputs[f"{k}_x"]) for k in names}
    d_in, d_out = inputs["digit_site"] != site, inputs["digit_site"] == site
    l_in, l_out = inputs["letter_site"] != site, inputs["letter_site"] == site

    def sub(name: str, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(f[mask] for f in feats[name])  # type: ignore[return-value]  # tuple(generator) is not typed as a 3-tuple

    digits = [(feats["mnist_train"], inputs["mnist_train_y"]), (sub("digit", d_in), inputs["digit_y"][d_in])]
    for kind in feature_kinds:
        def fitted(scr_mask: np.ndarray, kind: str = kind) -> Verdict:  # this iteration's kind, bound
            return fit(kind, digits, [sub("letter", l_in), sub("scr_train", scr_mask)], flag_share=args.flag_share)

        started = time.perf_counter()
        v = fitted(np.ones(len(inputs["scr_train_kind"]), bool))
        fit_s = time.perf_counter() - started
        flagged = lambda f: float(np.mean(~v.is_digit(*f)))  # noqa: E731, B023 (a one-line scorer; used only in this iteration)
        row = {
            "letters": flagged(sub("letter", l_out)),
            "digits": flagged(sub("digit", d_out)),
            "mnist_test": flagged(feats["mnist_test"]),
            "scribbles": flagged(feats["scr_test"]),
            "fit_s": fit_s,
        }
        if kind == "detector":  # scribble kinds never seen in fitting: fit on one half, score the other
            kinds = list(SCRIBBLE_KINDS)
            hits, total = 0, 0
            for half in (kinds[0::2], kinds[1::2]):
                v2 = fitted(~np.isin(inputs["scr_train_kind"], half))
                mask = np.isin(inputs["scr_test_kind"], half)
                hits += int(np.sum(~v2.is_digit(*sub("scr_test", mask))))
                total += int(mask.sum())
            row["unseen"] = hits / total
        else:
            row["unseen"] = row["scribbles"]  # nothing learnt from scribbles
        results[kind] = row
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--folds",
        type=Path,
        default=Path("runs/loso"),
        help="the fold models of benchmarks/leave_one_site_out.py --work (default: %(default)s)",
    )
    ap.add_argument("--data", type=Path, default=SHARED)
    ap.add_argument("--mnist-fit", type=int, default=15000, help="MNIST train images used for fitting")
    ap.add_argument("--scribbles", type=int, default=2200, help="scribbles for fitting (half as many more are scored)")
    ap.add_argument("--flag-share", type=float, default=0.005)
    ap.add_argument("--kinds", type=lambda s: s.split(","), default=["network", "max_softmax", "energy", "mahalanobis", "detector"])
    ap.add_argument("--epochs", type=int, default=10, help="the network's training epochs (default: %(default)s)")
    ap.add_argument("--synth", type=int, default=0, help="synthesised regional digits the network also learns from")
    ap.add_argument("--scribbles-network", type=int, default=6000, help="scribbles the network learns from (default: %(default)s)")
    ap.add_argument(
        "--digit-like", action="store_true", help="the network also learns from letters that can pass for digits, on the digit side"
    )
    ap.add_argument(
        "--no-restyle", action="store_true", help="the network's pen digits varied without regional variants (no slashed zeros)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", type=Path, help="a folder to save each fold's network verdict in (SITE.json)")
    ap.add_argument("--saved", type=Path, help="score the fold verdicts saved there by --save instead of training them")
    ap.add_argument("--flagged-png", type=Path, help="save a picture of every left-out digit the network verdict flags")
    ap.add_argument("--sites", type=lambda s: s.split(","), default=list(SITES), help="the folds to run (default: all five)")
    ap.add_argument("--cache", help="a folder to keep the rendered inputs in between runs")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    limit_blas_threads()
    started = time.perf_counter()
    inputs = load_all(args)
    args.flagged = []
    table = {}
    for site in args.sites:
        t = time.perf_counter()
        table[site] = evaluate_fold(site, inputs, args)
        print(f"[{site}] {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    cols = ("letters", "digits", "mnist_test", "scribbles", "unseen")
    print(f"flagged as no digit (threshold: ≤ {args.flag_share:.1%} of MNIST train and of the four training sites' digits)")
    print("want: letters ≥ 90 %, digits ≤ 1 %, MNIST test ≤ 0.5 %; 'unseen' = scribble kinds kept out of fitting")
    for kind in args.kinds:
        print(f"\n{kind}\n  {'site':6}" + "".join(f"{c:>12}" for c in cols))
        for site in args.sites:
            print(f"  {site:6}" + "".join(f"{table[site][kind][c]:>11.1%} " for c in cols))
        vals = np.array([[table[s][kind][c] for c in cols] for s in args.sites])
        worst = np.where(np.isin(cols, ["letters", "scribbles", "unseen"]), vals.min(0), vals.max(0))
        print(f"  {'mean':6}" + "".join(f"{x:>11.1%} " for x in vals.mean(0)))
        print(f"  {'worst':6}" + "".join(f"{x:>11.1%} " for x in worst))
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    if args.flagged_png:
        errors_png(args.flagged_png, args.flagged)
        print(f"the {len(args.flagged)} flagged left-out digits: {args.flagged_png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
