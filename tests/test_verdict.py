"""The "is it a digit?" verdict: its features, its fit, its file form, and what it says."""

from __future__ import annotations

import json

import numpy as np
import pytest
from digitscope.model.drawing import Drawing
from digitscope.model.inference import cnn_forward, cnn_forward_batch
from digitscope.model.preprocess import drawing_to_tensor
from digitscope.model.verdict import Verdict, features, fit, pool3, prediction_features

from helpers import assert_f32_close, letter_h, letter_x, seven


def _clusters(rng: np.random.Generator, n: int, shift: float = 0.0):
    """Ten Gaussian classes in 128 dimensions as fake (pool3, dense, logits) features."""
    labels = np.arange(n) % 10
    centres = np.random.default_rng(99).normal(0, 4, (10, 128))
    dense = centres[labels] + rng.normal(0, 1, (n, 128)) + shift
    logits = -((dense[:, None, :] - centres[None]) ** 2).sum(-1) / 100
    pool = np.abs(dense[:, :64].repeat(9, axis=1)) + shift
    return (pool, dense, logits), labels


def test_features_are_the_forward_pass(bundled_predictor) -> None:
    w = bundled_predictor.weights
    x = np.stack([drawing_to_tensor(seven()), drawing_to_tensor(seven(0.8, 20, 10))])
    pool, dense, logits = features(w, x)
    probs, acts = cnn_forward(w, x[0])
    assert_f32_close(dense[0], acts["dense"])
    assert_f32_close(pool[0], pool3(acts["pool"])[0])
    e = np.exp(logits - logits.max(1, keepdims=True))
    assert_f32_close(e / e.sum(1, keepdims=True), cnn_forward_batch(w, x))
    one = prediction_features(w, acts)
    for a, b in zip(one, (pool[:1], dense[:1], logits[:1])):
        assert_f32_close(a, b)


@pytest.mark.parametrize("kind", ["max_softmax", "energy", "mahalanobis"])
def test_threshold_flags_the_asked_share_of_digits(kind: str) -> None:
    feats, labels = _clusters(np.random.default_rng(0), 4000)
    v = fit(kind, [(feats, labels)], flag_share=0.02)
    assert 0.01 <= np.mean(~v.is_digit(*feats)) <= 0.03


def test_mahalanobis_flags_what_is_far_from_every_class() -> None:
    feats, labels = _clusters(np.random.default_rng(0), 4000)
    v = fit("mahalanobis", [(feats, labels)], flag_share=0.005)
    new, _ = _clusters(np.random.default_rng(1), 1000)
    far, _ = _clusters(np.random.default_rng(2), 1000, shift=3.0)
    assert np.mean(~v.is_digit(*new)) < 0.02
    assert np.mean(~v.is_digit(*far)) > 0.95


def test_detector_learns_digits_from_others_and_survives_json() -> None:
    feats, labels = _clusters(np.random.default_rng(0), 3000)
    others, _ = _clusters(np.random.default_rng(1), 1500, shift=1.5)
    v = fit("detector", [(feats, labels)], [others], flag_share=0.01)
    new, _ = _clusters(np.random.default_rng(3), 1000)
    new_others, _ = _clusters(np.random.default_rng(4), 1000, shift=1.5)
    assert np.mean(~v.is_digit(*new)) < 0.05
    assert np.mean(~v.is_digit(*new_others)) > 0.9
    again = Verdict.from_json(json.loads(json.dumps(v.to_json())))
    np.testing.assert_allclose(again.score(*new), v.score(*new), rtol=1e-9)
    assert again.threshold == v.threshold and again.kind == "detector"


def test_malformed_verdicts_are_refused() -> None:
    feats, labels = _clusters(np.random.default_rng(0), 500)
    doc = fit("mahalanobis", [(feats, labels)]).to_json()
    with pytest.raises(ValueError):
        Verdict.from_json({**doc, "version": 99})
    with pytest.raises(ValueError):
        Verdict.from_json({**doc, "params": {}})
    with pytest.raises(ValueError):
        Verdict.from_json({**doc, "kind": "oracle"})
    with pytest.raises(ValueError):
        fit("detector", [(feats, labels)], [])


def _letter_h() -> Drawing:
    return Drawing(280, 280, 18, [[(90, 50), (90, 230)], [(190, 50), (190, 230)], [(90, 140), (190, 140)]])


def _letter_x() -> Drawing:
    return Drawing(280, 280, 18, [[(90, 100), (190, 230)], [(190, 100), (90, 230)]])


def test_bundled_cnn_with_a_detector_flags_an_h_and_an_x_not_a_seven(bundled_predictor, mnist_path) -> None:
    from conftest import SHARED_UNIPEN
    from digitscope.model.scribbles import scribble_drawings

    letters_path = SHARED_UNIPEN.with_name("unipen-letters-dev.jsonl")
    if not letters_path.is_file():
        pytest.skip(f"needs the unipen letters at {letters_path} (not present on this machine)")
    letters = []
    with open(letters_path, encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            if doc["label"] in "ACEFHKMNPRUVWXacefhkmnruvwx" and len(letters) < 2000:
                letters.append(drawing_to_tensor(Drawing.from_json(doc)))

    w = bundled_predictor.weights
    with np.load(mnist_path) as m:
        pick = np.random.default_rng(0).choice(60000, 3000, replace=False)
        x, y = m["x_train"][pick] / 255.0, m["y_train"][pick]
    scribbles, _ = scribble_drawings(660, seed=5)
    no_digits = [features(w, np.stack(letters)), features(w, np.stack([drawing_to_tensor(d) for d in scribbles]))]
    v = fit("detector", [(features(w, x), y)], no_digits)
    h, xx, s = (features(w, drawing_to_tensor(d)[None]) for d in (_letter_h(), _letter_x(), seven()))
    assert not v.is_digit(*h)[0]
    assert not v.is_digit(*xx)[0]
    assert v.is_digit(*s)[0]


# ------------------------------------------------------------------ the network verdict (the bundled kind)


def _tiny_network():
    from digitscope.model.digit_detector import build_detector, DetectorWeights

    model = build_detector((2, 2, 2, 4))
    rng = np.random.default_rng(5)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    return DetectorWeights.from_keras(model)


def test_bundled_verdict_reads_letters_as_no_digit(bundled_predictor) -> None:
    assert bundled_predictor.verdict is not None and bundled_predictor.verdict.kind == "network"
    assert bundled_predictor.verdict_note == "its own"
    h, x, s7 = (bundled_predictor.predict(drawing_to_tensor(d)) for d in (letter_h(), letter_x(), seven()))
    assert h.is_digit is False and x.is_digit is False
    assert s7.is_digit is True and s7.digit == 7
    assert h.digit_score > bundled_predictor.verdict.threshold >= s7.digit_score
    batch = bundled_predictor.is_digit(np.stack([drawing_to_tensor(d) for d in (letter_h(), seven())]))
    assert batch.tolist() == [False, True]


def test_network_verdict_survives_its_file_form() -> None:
    from digitscope.model.verdict import network_verdict

    digits = np.random.default_rng(0).random((50, 28, 28)).astype(np.float32) * 0.2
    v = network_verdict(_tiny_network(), [digits], flag_share=0.1, info={"note": "test"})
    assert np.mean(~v.is_digit(None, None, None, digits)) <= 0.1 + 1e-9
    again = Verdict.from_json(json.loads(json.dumps(v.to_json())))
    probe = np.random.default_rng(1).random((5, 28, 28))
    assert again.threshold == v.threshold and again.info["note"] == "test"
    assert np.array_equal(again.score(None, None, None, probe), v.score(None, None, None, probe))
    assert again.judge(probe[0]) == pytest.approx(float(v.score(None, None, None, probe[:1])[0]))


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda d: d["params"]["conv1_kernel"].update(base64="!!"), "base64"),
        (lambda d: d["params"]["conv1_kernel"].update(shape=[3, 3, 1, 9]), "fill its shape"),
        (lambda d: d["params"]["conv1_kernel"].update(shape=[2000, 2000]), "too large"),
        (lambda d: d["params"]["conv1_kernel"].update(dtype="object"), "float dtype"),
        (lambda d: d["params"].pop("dense2_bias"), "lacks dense2_bias"),
        (lambda d: d.update(threshold=float("nan")), "finite"),
        (lambda d: d.update(kind="oracle"), "unknown verdict kind"),
        (lambda d: d.update(version=99), "not a digitscope verdict"),
    ],
)
def test_a_spoilt_verdict_is_refused_clearly(spoil, message) -> None:
    from digitscope.model.verdict import network_verdict

    doc = network_verdict(_tiny_network(), [np.zeros((4, 28, 28))]).to_json()
    spoil(doc)
    with pytest.raises(ValueError, match=message):
        Verdict.from_json(json.loads(json.dumps(doc)))


def test_a_nan_weight_is_refused() -> None:
    from digitscope.model.verdict import _encode, network_verdict

    doc = network_verdict(_tiny_network(), [np.zeros((4, 28, 28))]).to_json()
    doc["params"]["dense2_bias"] = _encode(np.array([np.nan], np.float32))
    with pytest.raises(ValueError, match="NaN"):
        Verdict.from_json(doc)


def test_model_without_a_verdict_reads_with_the_bundled_one(tmp_path, bundled_predictor) -> None:
    import shutil

    from digitscope.model.inference import load_predictor
    from digitscope.model.modelfile import metadata_path

    copy = tmp_path / "mine.keras"
    shutil.copy(bundled_predictor.path, copy)  # no metadata beside it
    p = load_predictor(copy)
    assert p.verdict is not None and p.verdict_note.startswith("the bundled model's")
    assert p.predict(drawing_to_tensor(letter_h())).is_digit is False
    metadata_path(copy).write_text(json.dumps({"verdict": {"version": 1, "kind": "network", "threshold": 0, "params": {}}}))
    broken = load_predictor(copy)  # a verdict that cannot be read: none, said clearly, and reading goes on
    assert broken.verdict is None and "cannot be read" in broken.verdict_note
    pred = broken.predict(drawing_to_tensor(seven()))
    assert pred.is_digit is None and pred.digit == 7


def test_train_verdict_learns_scribbles_from_digits() -> None:
    """A short training on data the test makes: synthesised digits against scribbles."""
    from digitscope.model.scribbles import scribble_drawings
    from digitscope.model.style_synth import synth_tensors
    from digitscope.model.pen_data import render_copies
    from digitscope.model.verdict_training import flagged_shares, train_verdict, verdict_data

    digits = synth_tensors(900, seed=1)[0]
    data = verdict_data(digits[:600], [], scribble_drawings(150, seed=2)[0], scribbles=150, letter_copies=1, seed=0)
    assert set(data.digits) == {"mnist", "pen digits"} and len(data.calibration["mnist"]) > 100
    v = train_verdict(data, epochs=8)
    assert v.kind == "network" and v.info["trained_on"]["scribbles"] == 150
    unseen = render_copies(scribble_drawings(100, seed=7)[0], 1, 0)[0]
    shares = flagged_shares(v, {"digits": digits[600:], "scribbles": unseen})
    assert shares["digits"] < 0.1 and shares["scribbles"] > 0.35, shares  # untrained: ~0.5 % of scribbles
