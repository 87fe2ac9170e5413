"""A whole training run, as ``digitscope train`` does it: data → train → test → save."""

from __future__ import annotations

import datetime as dt
import platform
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .architecture import ARCHITECTURES, DEFAULT_ARCHITECTURE
from .augment import PRESETS, WITH_STYLE_VARIANTS
from .training import ProgressFn, StopFn, TrainConfig


@dataclass
class TrainRequest:
    """Everything a run needs; ``command`` is recorded in the metadata."""

    output: Path
    mnist: str | None = None
    epochs: int = 12
    batch_size: int | None = None  # None: the architecture's default (``ArchitectureSpec.batch_size``)
    seed: int = 0
    learning_rate: float | None = None  # None: the architecture's default
    validation_split: float = 0.1
    augment: str = "drawn"  # a name in augment.PRESETS, or "off"
    init_model: str | None = None
    limit: int | None = None
    command: str = ""
    train_layers: str = "all"  # or "dense": keep the convolution filters
    #: My drawings (a folder as :mod:`.my_drawings` keeps it), added to MNIST with this weight each.
    drawings: str | None = None
    drawings_weight: float = 10.0
    #: Share of each digit of my drawings held out for the comparison (never trained on).
    drawings_holdout: float = 0.2
    #: A model to compare the new one with, on the MNIST test set and the held-out drawings.
    compare_model: str | None = None
    #: Which network: "cnn", "dense" or "numpy" (see ``architecture.ARCHITECTURES``).
    architecture: str = DEFAULT_ARCHITECTURE
    #: Pen drawings to train on as well (JSON lines, see :mod:`.pen_data`), each rendered
    #: ``pen_copies`` times (once as drawn, the rest varied as another writer would).
    pen_data: str | None = None
    #: Train on these sites of ``pen_data`` only (None: all).
    pen_sites: list[str] | None = None
    #: Never train on this site; score the new model on it instead (leave-one-site-out).
    leave_out_site: str | None = None
    pen_copies: int = 12
    #: Synthesised digits of the regional writing variants (see :mod:`.style_synth`) to add.
    synth: int = 0
    #: Models whose mean reading of each MNIST image, as augmented, is blended into its target
    #: in the share ``distill`` (distillation; see :func:`.training.train_model`).
    teachers: list[str] | None = None
    distill: float = 0.5
    #: Share of each target spread over the ten digits (label smoothing; see :class:`.training.TrainConfig`).
    label_smoothing: float = 0.0
    #: Least seconds between the CNN's ``weights`` progress events (see :mod:`.learning_frames`); 0: none.
    weights_interval: float = 0.5
    #: The probe digit of those events: a drawing file (None: the built-in 7).
    probe: str | None = None

    def to_argv(self) -> list[str]:
        """The ``digitscope train`` arguments (after ``train``) that make this very request.

        Each field is the option of its name (``batch_size``: ``--batch-size``), ``command``
        aside: it records the command line itself. The settings of :data:`ARGV_ALWAYS` are
        always written out; any other field only when it differs from its default, and a
        None never."""
        argv: list[str] = []
        for name in ARGV_ORDER:
            value = getattr(self, name)
            if value is None or (name not in ARGV_ALWAYS and value == _DEFAULTS[name]):
                continue
            text = _argv_value(name, value)
            option = "--" + name.replace("_", "-")
            # a value that starts like an option is glued to its option: argparse would take it for one
            argv += [f"{option}={text}"] if text.startswith("-") else [option, text]
        return argv


#: The request's fields that are no ``digitscope train`` option.
NOT_OPTIONS = frozenset({"command"})
#: Written out by :meth:`TrainRequest.to_argv` even at their defaults: the network and its
#: training settings, so that a recorded command says how the model was trained.
ARGV_ALWAYS = ("architecture", "epochs", "batch_size", "validation_split", "learning_rate", "augment")
#: The order of the options :meth:`TrainRequest.to_argv` writes: the settings, the data, the rest.
ARGV_ORDER = (
    "architecture", "output", "epochs", "batch_size", "validation_split", "learning_rate", "augment",
    "mnist", "init_model", "train_layers", "drawings", "drawings_weight", "compare_model",
    "seed", "limit", "drawings_holdout", "pen_data", "pen_sites", "leave_out_site", "pen_copies", "synth",
    "teachers", "distill", "label_smoothing", "weights_interval", "probe",
)
_DEFAULTS = {f.name: f.default for f in fields(TrainRequest)}
assert set(ARGV_ORDER) == set(_DEFAULTS) - NOT_OPTIONS, "every option of a request has its place in the argv"


def _argv_value(name: str, value: Any) -> str:
    """One field's value as ``digitscope train`` reads it back (floats to the last bit)."""
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    if isinstance(value, list):
        if any(not item or item != item.strip() or "," in item for item in value):
            raise ValueError(f"{name}: names cannot be empty, hold a comma or start or end with a space, got {value!r}")
        return ",".join(value)
    return str(value)


def check_request(request: TrainRequest) -> None:
    """Raise ValueError for combinations that cannot work, and for an output that cannot be
    written (a wrong suffix, a folder that cannot be made or written to), before any data is loaded."""
    from .modelfile import check_model_output

    check_model_output(request.output)

    spec = ARCHITECTURES.get(request.architecture)
    if spec is None:
        raise ValueError(f"unknown architecture {request.architecture!r}: choose one of {', '.join(ARCHITECTURES)}")
    if request.train_layers != "all" and not spec.has_conv_layers:
        raise ValueError("--train-layers dense keeps a CNN's convolution filters: it is for the CNN only")
    if (request.pen_sites or request.leave_out_site) and not request.pen_data:
        raise ValueError("--pen-sites and --leave-out-site choose sites of --pen-data: name the file too")
    if request.pen_copies < 1 or request.synth < 0:
        raise ValueError("--pen-copies must be ≥ 1 and --synth ≥ 0")
    if not (isinstance(request.weights_interval, (int, float)) and 0 <= request.weights_interval < float("inf")):
        raise ValueError(f"--weights-interval is a number of seconds ≥ 0, not {request.weights_interval!r}")

    if request.teachers:
        if spec.numpy_trainer:
            raise ValueError(f"the {spec.label} trains without TensorFlow: it cannot learn from --teachers")
        if not 0 < request.distill <= 1:
            raise ValueError(f"--distill is the teachers' share of each target, in (0, 1], not {request.distill!r}")
        for teacher in request.teachers:
            if not Path(teacher).is_file():
                raise ValueError(f"--teachers: {teacher} is no model file")
    if request.init_model and not spec.can_fine_tune:
        raise ValueError(f"the {spec.label} always starts from scratch (no --init-model)")
    if request.init_model:
        from .architecture import architecture_of
        from .modelfile import read_metadata

        base = architecture_of(read_metadata(request.init_model))
        if base != request.architecture:
            raise ValueError(f"{Path(request.init_model).name} is a {base} model: fine-tune it with --architecture {base}")


def remove_stale_output_temps(output: Path, min_age: float | None = None) -> list[Path]:
    """Remove the temporary files a killed save of ``output`` (model or metadata) left behind."""
    from .modelfile import remove_model_temps

    return remove_model_temps(output, min_age)


def _figures(evaluation: Any) -> dict[str, Any]:
    """An evaluation as JSON-safe figures (digits with no samples: None)."""
    import math

    return {
        "accuracy": evaluation.accuracy,
        "samples": evaluation.count,
        "per_class_accuracy": [None if math.isnan(v) else v for v in evaluation.per_class],
        "confusion": evaluation.confusion.tolist(),
    }


def _compare(path: str, data: Any, mnist_sha256: str, x_test: Any, held_x: Any, held_y: Any, predicted: Any) -> dict[str, Any]:
    """The current model's figures: MNIST test from its metadata when that was measured on this
    very MNIST file (a confusion matrix is all it takes), else evaluated; the held-out drawings
    with the NumPy forward pass (a few images: no need for Keras)."""
    import numpy as np

    from .evaluation import evaluate_labels, evaluation_from_confusion
    from .inference import load_predictor
    from .modelfile import load_keras_model, read_metadata

    out: dict[str, Any] = {}
    meta = read_metadata(path) or {}
    confusion = np.asarray(meta.get("confusion") or [], dtype=np.int64)
    if meta.get("mnist_sha256") == mnist_sha256 and confusion.shape == (10, 10) and confusion.sum() == len(data.y_test):
        out["mnist_test"] = _figures(evaluation_from_confusion(confusion))
    else:
        out["mnist_test"] = _figures(evaluate_labels(data.y_test, predicted(load_keras_model(path), x_test)))
    if len(held_y):
        current = load_predictor(path)
        out["my_drawings"] = _figures(evaluate_labels(held_y, current.probabilities(held_x).argmax(axis=1)))
    return out


def run_training(request: TrainRequest, progress: ProgressFn, should_stop: StopFn | None = None) -> dict[str, Any]:
    """Train, evaluate on the MNIST test set, and save the model with its metadata.

    Returns the metadata written. Nothing is written if training fails or is cancelled.
    """
    import numpy as np

    from .evaluation import evaluate_labels
    from .files import sha256_file
    from .mnist import as_inputs, load_mnist, one_hot
    from .modelfile import load_keras_model, metadata_path, read_metadata, save_model
    from .training import TrainingCancelled, TrainResult, check_finite_weights, train_model

    check_request(request)
    probe = None
    if request.probe and request.weights_interval > 0 and ARCHITECTURES[request.architecture].has_conv_layers:
        from .learning_frames import load_probe  # a bad file is said before any data is loaded

        probe = load_probe(request.probe)
    remove_stale_output_temps(request.output)
    spec = ARCHITECTURES[request.architecture]
    data = load_mnist(request.mnist)
    x, y = data.x_train, data.y_train
    if request.limit:
        x, y = x[: request.limit], y[: request.limit]
    x, y = as_inputs(x), y.astype(np.int64)
    n_mnist = len(x)  # the rows the teachers teach: MNIST's own
    weights = np.ones(len(x), np.float32)
    # renders of strokes varied as another writer would skip the image augmentation
    image_augment = np.ones(len(x), bool)
    held_x = np.zeros((0, 28, 28, 1), np.float32)
    held_y = np.zeros(0, np.int64)
    drawings_info: dict[str, Any] | None = None
    if request.drawings:
        from .my_drawings import drawings_to_inputs, holdout_split, load_labelled

        mine_x, mine_y, mine = drawings_to_inputs(load_labelled(request.drawings))
        train_idx, held_idx = holdout_split(mine.paths, request.drawings_holdout)
        held_x, held_y = mine_x[held_idx], mine_y[held_idx]
        x = np.concatenate([x, mine_x[train_idx]])
        y = np.concatenate([y, mine_y[train_idx]])
        weights = np.concatenate([weights, np.full(len(train_idx), request.drawings_weight, np.float32)])
        image_augment = np.concatenate([image_augment, np.ones(len(train_idx), bool)])
        drawings_info = {
            "folder": str(request.drawings),
            "trained": int(len(train_idx)),
            "held_out": int(len(held_idx)),
            "weight": request.drawings_weight,
            "skipped": [{"path": str(p), "reason": r} for p, r in mine.skipped],
        }
        progress({"event": "drawings", **drawings_info})
    pen_info: dict[str, Any] | None = None
    held_site: Any = None
    if request.pen_data:
        from .pen_data import load_pen_digits, render_augmented

        pen = load_pen_digits(request.pen_data)
        left_out = [request.leave_out_site] if request.leave_out_site else []
        trained = pen.select(request.pen_sites, left_out)
        held_site = pen.select(left_out) if left_out else None
        pen_x, pen_y = render_augmented(trained, request.pen_copies, request.seed)
        x = np.concatenate([x, pen_x[..., None]])
        y = np.concatenate([y, pen_y])
        weights = np.concatenate([weights, np.ones(len(pen_y), np.float32)])
        image_augment = np.concatenate([image_augment, np.zeros(len(pen_y), bool)])
        pen_info = {
            "file": str(request.pen_data),
            "sha256": sha256_file(pen.path),
            "sites": trained.site_names(),
            "left_out": request.leave_out_site,
            "drawings": len(trained),
            "copies": request.pen_copies,
            "images": int(len(pen_y)),
        }
        progress({"event": "pen_data", **pen_info})
    if request.synth:
        from .style_synth import synth_tensors

        syn_x, syn_y = synth_tensors(request.synth, request.seed + 1)
        x = np.concatenate([x, syn_x[..., None]])
        y = np.concatenate([y, syn_y])
        weights = np.concatenate([weights, np.ones(len(syn_y), np.float32)])
        image_augment = np.concatenate([image_augment, np.zeros(len(syn_y), bool)])
        progress({"event": "synthesised", "images": int(len(syn_y))})
    config = TrainConfig(
        epochs=request.epochs,
        batch_size=request.batch_size or spec.batch_size,
        seed=request.seed,
        learning_rate=request.learning_rate if request.learning_rate is not None else spec.learning_rate,
        augment=request.augment != "off" and spec.can_augment,
        augment_config=PRESETS.get(request.augment, PRESETS["drawn"]),
        style_variants=TrainConfig.style_variants if request.augment in WITH_STYLE_VARIANTS else 0.0,
        validation_split=request.validation_split,
        train_layers=request.train_layers,
        weights_interval=request.weights_interval,
        probe=probe,
        distill=request.distill if request.teachers else 0.0,
        label_smoothing=request.label_smoothing,
    )
    teachers_info = None
    if request.teachers:
        teachers_info = [{"file": str(t), "sha256": sha256_file(t)} for t in request.teachers]
        progress({"event": "teachers", "models": teachers_info, "distill": request.distill})
    if spec.numpy_trainer:  # no TensorFlow until the weights are saved
        from .architecture import DENSE_UNITS
        from .numpy_net import to_keras, train_numpy_net

        config.augment, config.style_variants, config.ema_momentum = False, 0.0, 0.0
        params, history, seconds = train_numpy_net(
            x, one_hot(y), config, DENSE_UNITS, progress=progress, should_stop=should_stop, sample_weight=weights
        )
        result = TrainResult(model=to_keras(params), history=history, seconds=seconds)
        check_finite_weights(result.model)
    else:
        from .architecture import build_model

        base = load_keras_model(request.init_model) if request.init_model else build_model(request.architecture)
        teachers = [load_keras_model(t) for t in request.teachers or ()]
        result = train_model(
            x, one_hot(y), config, model=base, progress=progress, should_stop=should_stop,
            sample_weight=weights, image_augment=image_augment, teachers=teachers, taught=np.arange(len(x)) < n_mnist,
        )

    def predicted(model: Any, images: np.ndarray) -> np.ndarray:
        # Keras on all cores: TensorFlow is loaded here anyway, and it is ~2× the NumPy path for 10,000 images
        if len(images) == 0:
            return np.zeros(0, np.int64)
        return np.asarray(model.predict(images, batch_size=1000, verbose=0)).argmax(axis=1)

    mnist_sha256 = sha256_file(data.path)
    x_test = as_inputs(data.x_test)
    test = evaluate_labels(data.y_test, predicted(result.model, x_test))
    progress({"event": "evaluated", "test_accuracy": test.accuracy, "per_class_accuracy": test.per_class})
    held_site_figures = None
    if held_site is not None:
        from .preprocess import drawings_to_tensors

        site_x = drawings_to_tensors(held_site.drawings)[..., None]
        held_site_figures = {"site": request.leave_out_site, **_figures(evaluate_labels(held_site.labels, predicted(result.model, site_x)))}
        progress({"event": "held_out_site", **held_site_figures})
    if request.compare_model or request.drawings:
        comparison: dict[str, Any] = {"new": {"mnist_test": _figures(test)}}
        if len(held_y):
            comparison["new"]["my_drawings"] = _figures(evaluate_labels(held_y, predicted(result.model, held_x)))
        if request.compare_model:
            comparison["current"] = _compare(request.compare_model, data, mnist_sha256, x_test, held_x, held_y, predicted)
        progress({"event": "compared", "models": comparison})

    from .verdict_training import carried_verdict, without_verdicts

    checks = {"mnist test": x_test[..., 0]}
    if len(held_y):
        checks["my drawings"] = held_x[..., 0]
    verdict, verdict_note = carried_verdict(request.init_model, checks)
    progress({"event": "verdict", "kept": verdict is not None, "note": verdict_note,
              "flagged": verdict.info.get("flagged") if verdict is not None else None})

    import keras
    import tensorflow as tf

    metadata = {
        "format": "digitscope-model-metadata",
        "version": 1,
        "architecture": spec.metadata_name,
        "parameters": int(result.model.count_params()),
        "test_accuracy": test.accuracy,
        "per_class_accuracy": test.per_class,
        "confusion": test.confusion.tolist(),
        "epochs": request.epochs,
        "train_samples": int(len(x) - round(len(x) * request.validation_split)),
        "my_drawings": drawings_info,
        "pen_data": pen_info,
        "synthesised": request.synth,
        "teachers": teachers_info,
        "held_out_site": held_site_figures,
        "config": config.to_json(),
        "history": result.history,
        "training_seconds": round(result.seconds, 1),
        "fine_tuned_from": request.init_model,
        # the base model's own record (its command, recipe and figures), so the chain is kept
        "base_model": without_verdicts(read_metadata(request.init_model)) if request.init_model else None,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": request.command,
        "mnist_sha256": mnist_sha256,
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
    }
    if verdict is not None:
        metadata["verdict"] = verdict.to_json()
    if should_stop is not None and should_stop():  # a cancel during the evaluation: nothing is written
        raise TrainingCancelled()
    path = save_model(result.model, request.output, metadata)
    progress({"event": "saved", "path": str(path), "metadata": str(metadata_path(path))})
    return metadata
