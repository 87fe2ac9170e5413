"""Making a model's "is it a digit?" verdict: the data, the detector's training, its threshold.

Digits are MNIST train and pen digits; no-digits are the letters that look like
no digit (:data:`NO_DIGIT_LETTERS`) and generated scribbles (:mod:`.scribbles`).
Pen drawings are rendered as drawn and varied as another writer would
(:mod:`.stroke_augment`), on both sides alike, so a variation never tells the
two apart; the pen digits' copies also get the regional variants the CNN learns
from (:func:`.pen_data.render_copies`), so that a slashed zero is a digit here too.
A share of the digits (by drawing) is kept out of training: the threshold is set
on them to flag at most ``flag_share`` of each digit source.
Used by ``digitscope verdict`` (the bundled model's step 3, ``model/recipe.py``)
and, one site left out at a time, by ``benchmarks/not_a_digit.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .drawing import Drawing
from .pen_data import PenDigits, render_copies
from .verdict import Verdict, network_verdict

#: Letters that look like no digit.
NO_DIGIT_LETTERS = frozenset("ACEFHKMNPRUVWX") | frozenset("acefhkmnruvwx")
#: Letters that can pass for a digit (an O for a 0, an S for a 5, a q for a 9): real ambiguity,
#: never scored. Trained on, if asked, on the digit side: "this may be a digit" (a 5 drawn
#: like an S must not be flagged), in the hand of the same writers as the no-digit letters.
DIGIT_LIKE_LETTERS = frozenset("ODQIlijJLZSBGTY") | frozenset("oqzsbgty")
#: Within each side, how the sources share its half of the weight.
DIGIT_SHARES = {"mnist": 0.45, "pen digits": 0.35, "synthesised": 0.2, "digit-like letters": 0.15}
OTHER_SHARES = {"letters": 0.7, "scribbles": 0.3}


@dataclass
class VerdictData:
    """Training and calibration images by source, and what they are (for the metadata)."""

    digits: dict[str, np.ndarray]
    others: dict[str, np.ndarray]
    calibration: dict[str, np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)


def verdict_data(
    mnist_x: np.ndarray,
    pen_digits: Sequence[Drawing],
    letters: Sequence[Drawing],
    scribbles: int = 6000,
    holdout: float = 0.3,
    digit_copies: int = 5,
    letter_copies: int = 2,
    synth: int = 0,
    digit_like: Sequence[Drawing] = (),
    pen_labels: Sequence[int] | None = None,
    seed: int = 0,
) -> VerdictData:
    """The sources: MNIST train images (N, 28, 28) in [0, 1], pen digit drawings, ``synth``
    synthesised digits in regional variants (:mod:`.style_synth`), ``digit_like`` letter
    drawings (:data:`DIGIT_LIKE_LETTERS`, on the digit side), no-digit letter drawings and
    ``scribbles`` generated ones. Given ``pen_labels``, the pen digits' varied copies get
    regional variants as the CNN's do (:func:`.pen_data.render_copies`): a slashed zero or a
    flagged one is a digit to both. Its variants reach further than the CNN's
    (:data:`.style_synth.VERDICT`): a digit is a digit however far its strokes run.
    ``holdout`` of MNIST and of the pen digits (whole drawings, as drawn) is kept out of
    training for the threshold."""
    from .scribbles import scribble_drawings
    from .style_synth import VERDICT, synth_tensors

    rng = np.random.default_rng(seed)
    mnist_x = np.asarray(mnist_x, np.float32).reshape(-1, 28, 28)
    m_cal = rng.random(len(mnist_x)) < holdout
    pen_x, pen_of = render_copies(pen_digits, digit_copies, seed + 1, pen_labels, reach=VERDICT)
    p_cal_drawing = rng.random(len(pen_digits)) < holdout
    p_cal = p_cal_drawing[pen_of] if len(pen_of) else np.zeros(0, bool)
    first = np.r_[True, pen_of[1:] != pen_of[:-1]] if len(pen_of) else np.zeros(0, bool)  # the as-drawn render
    letter_x, _ = render_copies(letters, letter_copies, seed + 2)
    scribble_x, _ = (
        render_copies(scribble_drawings(scribbles, seed=seed + 3)[0], 1, seed + 4)
        if scribbles
        else (np.zeros((0, 28, 28), np.float32), None)
    )
    digits = {"mnist": mnist_x[~m_cal], "pen digits": pen_x[~p_cal]}
    if synth:
        digits["synthesised"] = synth_tensors(synth, seed + 5, reach=VERDICT)[0]
    if len(digit_like):
        digits["digit-like letters"] = render_copies(digit_like, letter_copies, seed + 6)[0]
    others = {"letters": letter_x, "scribbles": scribble_x}
    calibration = {"mnist": mnist_x[m_cal], "pen digits": pen_x[p_cal & first]}
    info = {
        "trained_on": {k: int(len(v)) for k, v in {**digits, **others}.items()},
        "threshold_set_on": {k: int(len(v)) for k, v in calibration.items()},
        "letters": "".join(sorted(NO_DIGIT_LETTERS)),
        "copies": {"pen digits": digit_copies, "letters": letter_copies},
        "synthesised": synth,
        "pen digits restyled": pen_labels is not None,
        "reach": asdict(VERDICT),
    }
    return VerdictData(digits, others, calibration, info)


def verdict_data_without(
    mnist_x: np.ndarray,
    pen: PenDigits,
    letters: Sequence[Drawing],
    letter_sites: Sequence[str],
    left_out: Sequence[str] = (),
    digit_like: Sequence[Drawing] = (),
    digit_like_sites: Sequence[str] = (),
    restyle: bool = True,
    **options: Any,
) -> VerdictData:
    """:func:`verdict_data` from pen digits and letters of every site but ``left_out``: what
    ``digitscope verdict --leave-out-site`` and each fold of ``benchmarks/not_a_digit.py``
    train on. ``restyle``: the pen digits' copies get regional variants; ``options`` go to
    :func:`verdict_data` (``scribbles``, ``synth``, ``seed``...)."""
    out = set(left_out)
    trained = pen.select(None, out)
    return verdict_data(
        mnist_x, trained.drawings, [d for d, s in zip(letters, letter_sites) if s not in out],
        digit_like=[d for d, s in zip(digit_like, digit_like_sites) if s not in out],
        pen_labels=trained.labels.tolist() if restyle else None, **options,
    )


def train_verdict(
    data: VerdictData,
    epochs: int = 10,
    flag_share: float = 0.005,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    info: dict[str, Any] | None = None,
) -> Verdict:
    """Train the detector network on ``data`` and set its threshold (imports TensorFlow)."""
    from .digit_detector import WIDTHS, train_detector

    names_d, names_o = [k for k in data.digits if len(data.digits[k])], [k for k in data.others if len(data.others[k])]
    if not names_d or not names_o:
        raise ValueError("a verdict needs digits and drawings that are no digit to learn from")
    network = train_detector(
        [data.digits[k] for k in names_d], [data.others[k] for k in names_o],
        [DIGIT_SHARES.get(k, 1.0) for k in names_d], [OTHER_SHARES.get(k, 1.0) for k in names_o],
        epochs=epochs, seed=seed, on_epoch=on_epoch, should_stop=should_stop,
    )
    meta = {**data.info, "epochs": epochs, "widths": list(WIDTHS), **(info or {})}
    return network_verdict(network, [v for v in data.calibration.values() if len(v)], flag_share, meta)


def flagged_shares(verdict: Verdict, sources: dict[str, np.ndarray]) -> dict[str, float]:
    """The share of each source's images (N, 28, 28) the verdict flags as no digit."""
    return {k: float(np.mean(~verdict.is_digit(None, None, None, v))) for k, v in sources.items() if len(v)}


def check_verdict_target(model_path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The model file and its metadata, checked to be a pair (before any training)."""
    from .files import check_writable_folder, sha256_file
    from .modelfile import check_model_file, metadata_path, read_metadata

    model = check_model_file(model_path)
    meta = read_metadata(model)
    if meta.get("model_sha256") not in (None, sha256_file(model)):
        raise ValueError(f"{metadata_path(model)} belongs to another model file (its model_sha256 differs)")
    check_writable_folder(model.parent)
    return model, meta


def write_verdict(model_path: str | Path, verdict: Verdict) -> Path:
    """Put ``verdict`` in a model's metadata (written atomically; the rest is kept)."""
    from .files import atomic_write_bytes
    from .modelfile import metadata_path

    model, meta = check_verdict_target(model_path)
    meta["verdict"] = verdict.to_json()
    target = metadata_path(model)
    atomic_write_bytes(target, (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode("utf-8"))
    return target


def carried_verdict(source_model: str | Path | None, checks: dict[str, np.ndarray]) -> tuple[Verdict | None, str]:
    """The verdict a newly trained model keeps: that of ``source_model`` (the model it was
    fine-tuned from), else the bundled model's, when it judges the input image alone (a
    ``"network"`` verdict does not depend on the CNN's weights, so it stays valid). Its
    flag shares are measured again on ``checks`` (name → images (N, 28, 28), e.g. MNIST test
    and the person's held-out drawings) and recorded in its info. Returns (verdict or None, a
    sentence saying which, or why there is none)."""
    from .modelfile import bundled_model_path, read_metadata
    from .verdict import model_verdict

    source = Path(source_model) if source_model else bundled_model_path()
    verdict, note = model_verdict(source, read_metadata(source))
    if verdict is None:
        return None, f"the new model has no verdict ({source.name}: {note}); give it one with digitscope verdict"
    if verdict.needs_features:
        return None, f"the new model has no verdict: {source.name}'s reads the old network's features; give it one with digitscope verdict"
    verdict.info = {**verdict.info, "carried_from": str(source), "flagged": flagged_shares(verdict, checks)}
    return verdict, f"kept {source.name}'s verdict (it judges the drawing alone, whatever the network's weights)"


def without_verdicts(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """A model's metadata without its verdict, nor those of the models it came from (for the
    record a fine-tuned model keeps of its base: the verdicts would only make it grow)."""
    if not isinstance(metadata, dict):
        return metadata
    out = {k: v for k, v in metadata.items() if k != "verdict"}
    if isinstance(out.get("base_model"), dict):
        out["base_model"] = without_verdicts(out["base_model"])
    return out
