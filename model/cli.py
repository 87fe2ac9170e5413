"""The ``digitscope`` command: predict, evaluate, train, verdict, export, serve.

With no command it opens the app, and ``--self-test`` checks the installation;
both are Qt code, handed in by the entry point (``digitscope.__main__``), so
this layer never imports the GUI.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from .architecture import ARCHITECTURES, DEFAULT_ARCHITECTURE
from .augment import PRESETS as AUGMENT_PRESETS
from .interrupts import termination_as_interrupt

DRAWING_SUFFIXES = {".json"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digitscope",
        description="Draw a digit and watch a CNN read it. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"digitscope {__version__}")
    parser.add_argument(
        "--self-test", action="store_true",
        help="check this installation (bundled model, all ten digits, the window offscreen, "
        "one tiny training run) and exit 0, or say what failed and exit 1",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("predict", help="read digits from images and drawing files")
    p.add_argument("paths", nargs="+", metavar="PATH", help="PNG/JPEG image or drawing .json file")
    p.add_argument("--model", metavar="FILE", help="model file (default: the bundled model)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")

    e = sub.add_parser("evaluate", help="MNIST test accuracy, per class, and confusion matrix")
    e.add_argument("--model", metavar="FILE", help="model file (default: the bundled model)")
    e.add_argument("--mnist", metavar="PATH", help="mnist.npz (default: $DIGITSCOPE_MNIST, Keras's cache, download)")
    e.add_argument("--json", action="store_true", help="print the figures as JSON")

    t = sub.add_parser("train", help="train a network (the CNN by default) on MNIST and save it with its metadata")
    t.add_argument("--mnist", metavar="PATH", help="mnist.npz (default: $DIGITSCOPE_MNIST, Keras's cache, download)")
    t.add_argument("--output", "-o", metavar="FILE", default="digitscope-cnn.keras", help="model file to write (default: %(default)s)")
    t.add_argument(
        "--architecture", choices=tuple(ARCHITECTURES), default=DEFAULT_ARCHITECTURE,
        help="; ".join(
            f"{s.key}: {s.description}" + (" (default)" if s.key == DEFAULT_ARCHITECTURE else "")
            + ("" if s.can_augment else " (no augmentation)")
            for s in ARCHITECTURES.values()
        ),
    )
    t.add_argument("--epochs", type=_int_between(1, 10_000), default=12, help="default: %(default)s")
    batch, other_batches = _by_architecture(lambda s: s.batch_size, str)
    t.add_argument("--batch-size", type=_int_between(1, 65_536), help=f"default: {batch} ({'; '.join(other_batches)})")
    t.add_argument("--seed", type=_int_between(0, 2**32 - 1), default=0, help="random seed (default: %(default)s)")
    rate, other_rates = _by_architecture(lambda s: (s.rate_meaning, s.learning_rate), lambda v: f"{v[0]} (default: {v[1]:g})")
    t.add_argument("--learning-rate", type=_positive_float, help="; ".join([rate, *other_rates]))
    t.add_argument("--validation-split", type=_fraction, default=0.1, help="fraction held out for validation (default: %(default)s)")
    t.add_argument(
        "--augment", choices=(*AUGMENT_PRESETS, "off"), default="drawn",
        help="drawn: make MNIST look like drawn digits (default); elastic: drawn plus a smooth elastic wobble; "
        "mild: small jitter only; off: MNIST as it is",
    )
    t.add_argument("--no-augment", dest="augment", action="store_const", const="off", help="same as --augment off")
    t.add_argument("--init-model", metavar="FILE", help="fine-tune this model instead of starting from scratch")
    t.add_argument(
        "--train-layers", choices=("all", "dense"), default="all",
        help="all layers (default), or dense: keep the convolution filters (fine-tuning 2-3× faster)",
    )
    t.add_argument("--limit", type=_int_between(1), metavar="N", help="use only the first N training images (quick runs)")
    t.add_argument("--progress", choices=("human", "json"), default="human", help="progress on stderr as text, or JSON lines on stdout")
    t.add_argument("--drawings", metavar="DIR", help="also train on my drawings: DIR/<digit>/*.json drawing files")
    t.add_argument(
        "--drawings-weight", type=_non_negative_float, default=10.0, help="weight of each drawing vs one MNIST image (default: %(default)s)"
    )
    t.add_argument(
        "--drawings-holdout", type=_fraction, default=0.2,
        help="share of each digit's drawings held out to compare the models on (default: %(default)s)",
    )
    t.add_argument("--compare-model", metavar="FILE", help="after training, evaluate this model next to the new one")
    t.add_argument(
        "--pen-data", metavar="FILE",
        help="also train on pen drawings: JSON lines in the drawing format with label and site "
        "(e.g. ../shared/data/unipen-dev.jsonl)",
    )
    t.add_argument("--pen-sites", type=_names, metavar="A,B,...", help="train on these sites of --pen-data only (default: all)")
    t.add_argument(
        "--leave-out-site", metavar="SITE",
        help="never train on this site of --pen-data; score the new model on it (leave-one-site-out)",
    )
    t.add_argument(
        "--pen-copies", type=_int_between(1, 1000), default=12,
        help="renders of each pen drawing: one as drawn, the rest varied as other writers would (default: %(default)s)",
    )
    t.add_argument(
        "--synth", type=_int_between(0, 1_000_000), default=0, metavar="N",
        help="also train on N synthesised digits in the regional writing variants (crossed zeros and sevens, "
        "continental ones, open fours...; default: %(default)s)",
    )
    t.add_argument(
        "--teachers", type=_names, metavar="FILE,FILE,...",
        help="distil these models: each MNIST image's target blends its label with their mean reading of it, "
        "as augmented and softened (e.g. bases trained with different --seed)",
    )
    t.add_argument(
        "--distill", type=_share, default=0.5, metavar="SHARE",
        help="with --teachers, their reading's share of each MNIST target (default: %(default)s)",
    )
    t.add_argument(
        "--label-smoothing", type=_fraction, default=0.0, metavar="SHARE",
        help="spread this share of each target evenly over the ten digits (label smoothing; default: %(default)s)",
    )
    t.add_argument(
        "--weights-interval", type=_non_negative_float, default=0.5, metavar="SECONDS",
        help="with --progress json, report the CNN's kernels and a probe digit's conv1 maps and probabilities "
        "(a 'weights' event) at most this often while it trains, besides at the start and the end "
        "(default: %(default)s; 0: never)",
    )
    t.add_argument(
        "--probe", metavar="FILE", help="the probe digit of the 'weights' events: a drawing .json file (default: the built-in 7)"
    )
    t.add_argument(
        "--nice", type=_int_between(0, 19), default=0, metavar="N",
        help="lower this run's CPU priority by N (POSIX), so an app driving it stays responsive",
    )
    t.add_argument(
        "--control", choices=("none", "stdin"), default="none",
        help="stdin: a line 'stop' on stdin, or its end, cancels the run (for programs driving training)",
    )
    v = sub.add_parser(
        "verdict", help="teach a model to say when a drawing is no digit at all: train its verdict and save it in its metadata",
    )
    v.add_argument("--model", metavar="FILE", required=True, help="the model file whose metadata gets the verdict")
    v.add_argument("--mnist", metavar="PATH", help="mnist.npz (default: $DIGITSCOPE_MNIST, Keras's cache, download)")
    v.add_argument(
        "--pen-data",
        metavar="FILE",
        required=True,
        help="pen digits, JSON lines with label and site (e.g. ../shared/data/unipen-dev.jsonl)",
    )
    v.add_argument(
        "--letters", metavar="FILE", required=True, help="pen letters, same format (e.g. ../shared/data/unipen-letters-dev.jsonl)"
    )
    v.add_argument("--leave-out-site", metavar="SITE", help="train without this site's drawings and score the verdict on them")
    v.add_argument("--epochs", type=_int_between(1, 1000), default=10, help="default: %(default)s")
    v.add_argument(
        "--scribbles",
        type=_int_between(0, 1_000_000),
        default=6000,
        metavar="N",
        help="generated scribbles and shapes to learn from (default: %(default)s)",
    )
    v.add_argument(
        "--synth",
        type=_int_between(0, 1_000_000),
        default=0,
        metavar="N",
        help="also learn from N synthesised digits in regional variants (default: %(default)s)",
    )
    v.add_argument(
        "--digit-like", action="store_true",
        help="also learn from the letters that can pass for digits (O, S, q...), as drawings that may be digits",
    )
    v.add_argument(
        "--flag-share", type=_fraction, default=0.005, help="share of held-out digits the threshold may flag (default: %(default)s)"
    )
    v.add_argument("--seed", type=_int_between(0, 2**32 - 1), default=0, help="default: %(default)s")
    v.add_argument("--limit", type=_int_between(1), metavar="N", help="use only the first N MNIST training images (quick runs)")
    v.add_argument("--json", action="store_true", help="print the verdict's figures as JSON")

    x = sub.add_parser("export", help="write the model for TensorFlow Serving (SavedModel)")
    x.add_argument("directory", metavar="DIR", help="folder to create, e.g. models/digitscope/1 (must not exist, or be empty)")
    x.add_argument("--format", choices=("savedmodel",), default="savedmodel", help="default: %(default)s")
    x.add_argument("--model", metavar="FILE", help="model file (default: the bundled model)")

    s = sub.add_parser("serve", help="a local HTTP API: POST a drawing or an image, get the digit")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only; ::1 for IPv6)")
    s.add_argument("--port", type=_port, default=8000, help="port (default: %(default)s; 0 picks a free one)")
    s.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="answer requests for this Host name too (repeatable; '*': any). On a loopback address only "
        "localhost and IP addresses are answered by default, against DNS rebinding",
    )
    s.add_argument("--model", metavar="FILE", help="model file (default: the bundled model)")
    s.add_argument("--max-bytes", type=_int_between(1), default=1_000_000, help="largest request body accepted (default: %(default)s)")
    s.add_argument("--verbose", action="store_true", help="log every request on stderr")
    return parser


def _by_architecture(value_of: Callable[[Any], Any], text: Callable[[Any], str]) -> tuple[str, list[str]]:
    """For a help text of a setting that depends on the network (from the table of
    :data:`.architecture.ARCHITECTURES`): the default network's value, and each other value
    with the networks that have it ("dense and numpy: 32")."""
    groups: dict[Any, list[str]] = {}
    for spec in ARCHITECTURES.values():
        groups.setdefault(value_of(spec), []).append(spec.key)
    first = value_of(ARCHITECTURES[DEFAULT_ARCHITECTURE])
    return text(first), [f"{' and '.join(keys)}: {text(value)}" for value, keys in groups.items() if value != first]


def _port(text: str) -> int:
    value = int(text) if text.strip().isascii() and text.strip().isdigit() else -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0–65535, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _int_between(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argument type: an integer from ``low`` to ``high`` (None: no upper bound)."""

    def parse(text: str) -> int:
        value = int(text) if text.strip().lstrip("+-").isdigit() and len(text) < 30 else None
        if value is None or value < low or (high is not None and value > high):
            bounds = f"from {low:,} to {high:,}" if high is not None else f"≥ {low:,}"
            raise argparse.ArgumentTypeError(f"must be an integer {bounds}, got {text}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one")
    return names


def main(
    argv: Sequence[str] | None = None,
    gui: Callable[[], int] | None = None,
    self_test: Callable[[], int] | None = None,
) -> int:
    """Run the command line. ``gui`` opens the app (no command) and ``self_test`` runs
    ``--self-test``: both live in the Qt layer, which the caller passes in."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.self_test or args.command is None:
        run = self_test if args.self_test else gui
        if run is None:
            print("digitscope: the app is not available here; use a command (see --help)", file=sys.stderr)
            return 2
        return run()
    from .tf_setup import quiet_tensorflow

    quiet_tensorflow()
    try:
        if args.command == "predict":
            return cmd_predict(args, sys.stdout)
        if args.command == "evaluate":
            return cmd_evaluate(args, sys.stdout)
        if args.command == "train":
            return cmd_train(args, argv)
        if args.command == "verdict":
            return cmd_verdict(args, argv, sys.stdout)
        if args.command == "export":
            return cmd_export(args, sys.stdout)
        if args.command == "serve":
            return cmd_serve(args, sys.stdout)
    except KeyboardInterrupt:
        print("digitscope: interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"digitscope {args.command}: error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(args.command)


def _load(model_arg: str | None) -> Any:
    from .inference import limit_blas_threads, load_predictor
    from .modelfile import bundled_model_path

    limit_blas_threads()
    return load_predictor(model_arg or bundled_model_path())


def read_input(path: Path) -> Any:
    """An image or drawing file → its 28×28 tensor (raises with a clear message)."""
    from .drawing import load_drawing
    from .preprocess import drawing_to_tensor, load_image_tensor

    if path.suffix.lower() in DRAWING_SUFFIXES:
        return drawing_to_tensor(load_drawing(path))
    if not path.exists():
        raise ValueError(f"no such file: {path}")
    return load_image_tensor(path)


def cmd_predict(args: argparse.Namespace, out: TextIO) -> int:
    predictor = _load(args.model)
    failed = 0
    for name in args.paths:
        try:
            pred = predictor.predict(read_input(Path(name)))
        except (ValueError, OSError, MemoryError) as exc:  # DrawingError, ImageTooLargeError... are ValueErrors
            failed += 1
            if isinstance(exc, MemoryError):
                exc = MemoryError("not enough memory to read it")
            if args.json:
                print(json.dumps({"path": name, "error": str(exc)}), file=out, flush=True)
            else:
                print(f"{name}: error: {exc}", file=out, flush=True)
            continue
        if args.json:
            doc = {"path": name, "digit": pred.digit, "probabilities": [round(float(p), 6) for p in pred.probabilities],
                   "is_digit": pred.is_digit}
            print(json.dumps(doc), file=out, flush=True)
        else:
            print(f"{name}: {reading_text(pred)}", file=out, flush=True)
    return 1 if failed else 0


def reading_text(pred: Any) -> str:
    """One reading in words: ``7 (99.8%)``, or ``not a digit (best guess 4, 97.0%)``."""
    if pred.is_digit is False:
        return f"not a digit (best guess {pred.digit}, {100 * pred.confidence:.1f}%)"
    return f"{pred.digit} ({100 * pred.confidence:.1f}%)"


def cmd_verdict(args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int:
    from .inference import limit_blas_threads
    from .mnist import as_inputs, load_mnist
    from .pen_data import load_pen_digits, load_pen_letters, render_copies
    from .verdict_training import (
        DIGIT_LIKE_LETTERS,
        NO_DIGIT_LETTERS,
        check_verdict_target,
        flagged_shares,
        train_verdict,
        verdict_data_without,
        write_verdict,
    )

    limit_blas_threads()
    model = check_verdict_target(args.model)[0]  # a wrong pair or a read-only folder: said before any training
    mnist = load_mnist(args.mnist)
    pen = load_pen_digits(args.pen_data)
    letters, _, letter_sites = load_pen_letters(args.letters, NO_DIGIT_LETTERS)
    like, _, like_sites = load_pen_letters(args.letters, DIGIT_LIKE_LETTERS) if args.digit_like else ([], [], [])
    left_out = [args.leave_out_site] if args.leave_out_site else []
    data = verdict_data_without(
        as_inputs(mnist.x_train[: args.limit])[..., 0], pen, letters, letter_sites, left_out, like, like_sites,
        scribbles=args.scribbles, synth=args.synth, seed=args.seed,
    )
    print(f"digitscope verdict: training on {data.info['trained_on']}", file=sys.stderr, flush=True)
    verdict = train_verdict(
        data, args.epochs, args.flag_share, args.seed,
        on_epoch=lambda e, loss: print(f"epoch {e}/{args.epochs}: loss {loss:.4f}", file=sys.stderr, flush=True),
        info={"pen_data": str(args.pen_data), "letters_file": str(args.letters), "left_out": args.leave_out_site,
              "command": "digitscope " + shlex.join(argv)},
    )
    scored = {"mnist test": as_inputs(mnist.x_test)[..., 0], **data.calibration}
    if left_out:
        site = pen.select(left_out)
        scored["left-out digits"] = render_copies(site.drawings, 1, 0)[0]
        scored["left-out letters"] = render_copies([d for d, s in zip(letters, letter_sites) if s in left_out], 1, 0)[0]
    figures = flagged_shares(verdict, scored)
    verdict.info["flagged"] = figures
    path = write_verdict(model, verdict)
    if args.json:
        print(json.dumps({"model": str(model), "metadata": str(path), "threshold": verdict.threshold, "flagged": figures}), file=out)
    else:
        print(f"verdict written to {path} (threshold {verdict.threshold:.3f})", file=out)
        for name, share in figures.items():
            print(f"  flagged as no digit: {100 * share:5.1f}% of {name}", file=out)
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from .export import export_savedmodel
    from .modelfile import bundled_model_path

    with termination_as_interrupt():
        path = export_savedmodel(args.model or bundled_model_path(), args.directory)
    print(f"wrote a SavedModel to {path}: signature serving_default(image: float32[batch, 28, 28, 1]) "
          "-> probabilities: float32[batch, 10]", file=out)
    return 0


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from .serve import DigitServer
    from .tf_serving import MODEL_NAME

    predictor = _load(args.model)
    server = DigitServer((args.host, args.port), predictor, max_bytes=args.max_bytes, verbose=args.verbose,
                         allow_hosts=args.allow_host)
    if not server.is_loopback:
        names = "; it answers any Host name (--allow-host NAME limits them)" if server.host_check.any_name else ""
        print(f"digitscope serve: listening on {args.host}: other machines can reach it, and the API has no "
              f"authentication{names}", file=sys.stderr)
    print(f"serving {server.model_name} on {server.url} (POST /predict, GET /health; TensorFlow Serving's "
          f"POST /v1/models/{MODEL_NAME}:predict); Ctrl+C stops", file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_evaluate(args: argparse.Namespace, out: TextIO) -> int:
    from .evaluation import evaluate_labels
    from .mnist import as_inputs, load_mnist

    predictor = _load(args.model)
    data = load_mnist(args.mnist)
    probs = predictor.probabilities(as_inputs(data.x_test))
    result = evaluate_labels(data.y_test, probs.argmax(axis=1))
    if args.json:
        print(json.dumps({"model": str(predictor.path), "mnist": str(data.path), **result.to_json()}), file=out)
    else:
        print(f"model: {predictor.path}\nMNIST: {data.path}", file=out)
        print(result.report("MNIST test"), file=out)
    return 0


EXIT_CANCELLED = 3


def _stdin_stop_flag() -> Callable[[], bool]:
    """A flag that turns true when stdin says 'stop' or closes (the driving program went away)."""
    import threading

    stop = threading.Event()

    def watch() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=watch, name="stdin-control", daemon=True).start()
    return stop.is_set


def train_request(args: argparse.Namespace, command: str = "") -> Any:
    """The :class:`.train_run.TrainRequest` of parsed ``digitscope train`` arguments: each field
    from the option of its name (:meth:`.train_run.TrainRequest.to_argv` is the way back)."""
    from dataclasses import fields

    from .train_run import NOT_OPTIONS, TrainRequest

    values = {f.name: getattr(args, f.name) for f in fields(TrainRequest) if f.name not in NOT_OPTIONS}
    return TrainRequest(**{**values, "output": Path(values["output"]), "command": command})


def cmd_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .progress import HumanProgress, JsonProgress
    from .train_run import run_training
    from .training import TrainingCancelled, TrainingDiverged

    reporter = JsonProgress(sys.stdout) if args.progress == "json" else HumanProgress(sys.stderr)
    request = train_request(args, "digitscope " + shlex.join(argv))
    if args.nice > 0 and hasattr(os, "nice"):
        os.nice(args.nice)
    should_stop = _stdin_stop_flag() if args.control == "stdin" else None
    try:
        with termination_as_interrupt():
            run_training(request, reporter, should_stop)
    except TrainingCancelled:
        reporter({"event": "cancelled"})
        return EXIT_CANCELLED
    except TrainingDiverged as exc:  # the run failed, not its arguments: exit 1, nothing written
        reporter({"event": "error", "message": str(exc)})
        return 1
    except Exception as exc:
        reporter({"event": "error", "message": f"{type(exc).__name__}: {exc}"})
        raise
    return 0
