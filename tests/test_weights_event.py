"""The ``weights`` progress event of ``digitscope train`` ("watch it learn"): its arrays in
float16 base64, read back strictly; real short training runs emit it at a bounded rate
(the CNN only), and ``--probe`` / ``--weights-interval`` reach it from the command line."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from digitscope.model.learning_frames import (
    CONV1_SHAPE,
    CONV2_SHAPE,
    PROBE_MAPS_SHAPE,
    LearningFrame,
    compiled_predict,
    decode_array,
    default_probe,
    encode_array,
    load_probe,
    weights_event,
)
from digitscope.model.training import TrainConfig, train_model
from helpers import bar_digits, random_cnn, vertical_stroke

#: float16 keeps 11 significant bits: a relative error of at most 2⁻¹¹ (plus its subnormals near 0).
F16_RTOL, F16_ATOL = 2**-11, 1e-7


def tiny_set(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (N, 28, 28, 1): the tests' bar digits on faint noise, and one-hot labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = np.maximum(rng.random((n, 28, 28), dtype=np.float32) * 0.2, bar_digits(y) / np.float32(255))[..., None]
    return x, np.eye(10, dtype=np.float32)[y]


def weights_of(events: list[dict]) -> list[dict]:
    return [e for e in events if e["event"] == "weights"]


# --- the arrays ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [CONV1_SHAPE, CONV2_SHAPE, PROBE_MAPS_SHAPE, (10,), (1, 1, 1)])
def test_an_array_comes_back_within_float16_precision(shape):
    a = np.random.default_rng(1).normal(0, 0.3, shape).astype(np.float32)
    doc = encode_array(a)
    assert doc["shape"] == list(shape) and doc["dtype"] == "float16"
    assert len(base64.b64decode(doc["data"])) == 2 * a.size
    back = decode_array(json.loads(json.dumps(doc)), shape)
    assert back.dtype == np.float32 and back.shape == shape
    np.testing.assert_allclose(back, a, rtol=F16_RTOL, atol=F16_ATOL)
    # C order, little-endian: the bytes are exactly NumPy's float16 of the array
    assert base64.b64decode(doc["data"]) == a.astype("<f2").tobytes()


def test_non_finite_values_travel_as_they_are():
    a = np.array([np.nan, np.inf, -np.inf, 1e6, -1e6, 0.5], np.float32)
    back = decode_array(encode_array(a), (6,))
    assert np.isnan(back[0]) and list(back[1:5]) == [np.inf, -np.inf, np.inf, -np.inf] and back[5] == 0.5


def good_doc() -> dict:
    return encode_array(np.arange(288, dtype=np.float32).reshape(CONV1_SHAPE) / 288)


def changed(**fields) -> dict:
    doc = good_doc()
    for key, value in fields.items():
        if value is KeyError:
            del doc[key]
        else:
            doc[key] = value
    return doc


DATA = good_doc()["data"]
MALFORMED = {
    "a list": ([1, 2, 3], "JSON object, not list"),
    "null": (None, "JSON object, not null"),
    "a string": (DATA, "JSON object, not str"),
    "no data": (changed(data=KeyError), "keys data, dtype and shape"),
    "another key": ({**good_doc(), "scale": 1.0}, "keys data, dtype and shape"),
    "another shape": (changed(shape=[3, 3, 64]), r"shape \[3, 3, 64\] where \[3, 3, 32\]"),
    "a flat shape": (changed(shape=[288]), "where"),
    "shape of floats": (changed(shape=[3.0, 3.0, 32.0]), "list of integers"),
    "shape of booleans": (changed(shape=[True, 3, 32]), "list of integers"),
    "shape a string": (changed(shape="3,3,32"), "list of integers"),
    "float32": (changed(dtype="float32"), "only float16"),
    "no dtype": (changed(dtype=None), "only float16"),
    "data a list": (changed(data=[0] * 576), "base64 string, not list"),
    "truncated base64": (changed(data=DATA[:-4]), "characters where 576 bytes take 768"),
    "base64 cut mid-group": (changed(data=DATA[:-1]), "characters where"),
    "too many bytes": (changed(data=encode_array(np.zeros((3, 3, 33)))["data"]), "characters where"),
    "a huge string": (changed(data="A" * 10_000_000), "10,000,000 base64 characters"),
    "not base64": (changed(data="!" + DATA[1:]), "not valid base64"),
    "not ASCII": (changed(data="é" + DATA[1:]), "not valid base64"),
    "padding inside": (changed(data="=" + DATA[1:]), "not valid base64"),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_a_malformed_array_is_refused_with_its_reason(name):
    doc, message = MALFORMED[name]
    with pytest.raises(ValueError, match=message):
        decode_array(doc, CONV1_SHAPE)


def test_the_good_document_is_read():
    """The MALFORMED cases are each one change away from it."""
    assert decode_array(good_doc(), CONV1_SHAPE).shape == CONV1_SHAPE


# --- one event -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cnn():
    return random_cnn(3)


@pytest.fixture(scope="module")
def probe_event(cnn):
    return weights_event(cnn, default_probe(), step=5, epoch=2, batch=1, seconds=1.25)


def test_the_event_holds_the_kernels_and_the_probe_through_the_network(cnn, probe_event):
    import keras

    probe = default_probe()
    frame = LearningFrame.from_event(json.loads(json.dumps(probe_event)))
    assert (frame.step, frame.epoch, frame.batch, frame.seconds) == (5, 2, 1, 1.25)
    kernel1 = cnn.get_layer("conv1").get_weights()[0]
    kernel2 = cnn.get_layer("conv2").get_weights()[0]
    np.testing.assert_allclose(frame.conv1, kernel1[:, :, 0, :], rtol=F16_RTOL, atol=F16_ATOL)
    np.testing.assert_allclose(frame.conv2, kernel2.mean(axis=2), rtol=F16_RTOL, atol=F16_ATOL)
    assert (frame.conv2 < 0).any() and (frame.conv2 > 0).any(), "signed"
    # the maps and probabilities are Keras's own, up to float16 and 6 decimals
    maps = keras.Model(cnn.input, cnn.get_layer("conv1").output)(probe[None, ..., None], training=False)[0]
    np.testing.assert_allclose(frame.probe_maps, np.asarray(maps), rtol=F16_RTOL, atol=1e-5)
    assert frame.probe_maps.max() > 0.1, "the probe lights conv1 up"
    probs = np.asarray(cnn(probe[None, ..., None], training=False))[0]
    np.testing.assert_allclose(frame.probe_probabilities, probs, atol=1e-6)
    assert all(p == round(p, 6) for p in probe_event["probe_probabilities"])
    assert len(json.dumps(probe_event)) < 80_000


def test_the_compiled_probe_reads_the_weights_as_they_are_now(cnn):
    probe = default_probe()
    predict = compiled_predict(cnn)
    np.testing.assert_allclose(predict(probe[None, ..., None]), np.asarray(cnn(probe[None, ..., None], training=False)), atol=1e-6)
    other = random_cnn(4)
    saved = cnn.get_weights()
    try:
        cnn.set_weights(other.get_weights())  # as an optimiser step changes them in place
        np.testing.assert_allclose(predict(probe[None, ..., None]), np.asarray(other(probe[None, ..., None], training=False)), atol=1e-6)
    finally:
        cnn.set_weights(saved)


def test_the_default_probe_is_the_built_in_seven(bundled_predictor):
    from digitscope.model.examples import example_drawing
    from digitscope.model.preprocess import drawing_to_tensor

    probe = default_probe()
    assert probe.shape == (28, 28) and probe.dtype == np.float32 and 0 <= probe.min() and probe.max() <= 1
    np.testing.assert_array_equal(probe, drawing_to_tensor(example_drawing(7)))
    assert bundled_predictor.predict(probe).digit == 7


def test_a_probe_file_is_read_and_a_bad_one_refused(tmp_path):
    from digitscope.model.drawing import Drawing, save_drawing
    from digitscope.model.preprocess import drawing_to_tensor

    save_drawing(vertical_stroke(), tmp_path / "one.json")
    np.testing.assert_array_equal(load_probe(tmp_path / "one.json"), drawing_to_tensor(vertical_stroke()))
    (tmp_path / "bad.json").write_text('{"width": 10}')
    save_drawing(Drawing(100, 100, 5, []), tmp_path / "empty.json")
    for name in ("bad.json", "empty.json", "missing.json"):
        with pytest.raises(ValueError, match=f"the probe drawing .*{name} cannot be used: ."):
            load_probe(tmp_path / name)


def test_a_malformed_event_is_refused(probe_event):
    LearningFrame.from_event(probe_event)
    cases = {
        "event": ("batch", "not a weights event"),
        "step": (-1, "step is a count"),
        "epoch": (True, "epoch is a count"),
        "batch": (1.0, "batch is a count"),
        "seconds": (float("nan"), "seconds is a number"),
        "conv1": ({**probe_event["conv1"], "dtype": "float32"}, "conv1: the array's dtype is 'float32'"),
        "conv2": (probe_event["conv1"], r"conv2: the array has shape \[3, 3, 32\]"),
        "probe_maps": (None, "probe_maps: an encoded array is a JSON object"),
        "probe_probabilities": ([0.1] * 9, "list of 10 numbers"),
    }
    for key, (value, message) in cases.items():
        with pytest.raises(ValueError, match=message):
            LearningFrame.from_event({**probe_event, key: value})
    for probs in (["0.1"] * 10, [0.1] * 9 + [1.5], [0.1] * 9 + [-0.1], [0.1] * 9 + [10**400], [True] * 10, "0.1" * 10):
        with pytest.raises(ValueError, match="list of 10 numbers"):
            LearningFrame.from_event({**probe_event, "probe_probabilities": probs})
    with pytest.raises(ValueError, match="seconds is a number"):
        LearningFrame.from_event({**probe_event, "seconds": 10**400})
    with pytest.raises(ValueError, match="seconds"):
        LearningFrame.from_event({k: v for k, v in probe_event.items() if k != "seconds"})
    nan = LearningFrame.from_event(json.loads(json.dumps({**probe_event, "probe_probabilities": [None, float("nan")] + [0.1] * 8})))
    assert np.isnan(nan.probe_probabilities[:2]).all(), "a diverging run's null (or NaN) reads as NaN"


# --- training runs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_events() -> list[dict]:
    """A real short CNN run from scratch: 64 images, 2 epochs of 4 batches, a weights event as often as it may."""
    x, y = tiny_set(64)
    events: list[dict] = []
    train_model(x, y, TrainConfig(epochs=2, batch_size=16, augment=False, weights_interval=0.01), progress=events.append)
    return events


def test_training_reports_its_weights_from_noise_to_the_end(run_events):
    weights = weights_of(run_events)
    assert len(weights) >= 3
    frames = [LearningFrame.from_event(json.loads(json.dumps(e))) for e in weights]
    first, last = frames[0], frames[-1]
    assert (first.step, first.epoch, first.batch) == (0, 0, 0), "before the first batch"
    assert run_events.index(weights[0]) == 1, "right after the start event, before any batch"
    assert (last.step, last.epoch, last.batch) == (8, 2, 4), "the last: after all 2 × 4 batches"
    assert run_events[-1] is weights[-1], "after the last epoch event"
    steps = [f.step for f in frames]
    assert steps[:-1] == sorted(set(steps[:-1])) and steps[-1] >= steps[-2], "steps increase (the last may repeat one)"
    seconds = [f.seconds for f in frames]
    assert seconds == sorted(seconds)
    for f in frames[1:-1]:
        assert f.step == 4 * (f.epoch - 1) + f.batch and 1 <= f.batch <= 4
    assert not np.allclose(first.conv1, last.conv1, atol=1e-3), "the kernels learnt"
    assert not np.allclose(first.probe_maps, last.probe_maps, atol=1e-3)
    for f in frames:
        assert np.isfinite(f.conv1).all() and np.isfinite(f.probe_maps).all() and (f.probe_maps >= 0).all()
        assert f.probe_probabilities.sum() == pytest.approx(1.0, abs=1e-4) and (f.probe_probabilities >= 0).all()
    # the maps are the probe through each event's own kernels (from scratch, the biases start at 0)
    from digitscope.model.inference import conv3_relu

    start = conv3_relu(default_probe()[..., None], first.conv1.reshape(9, 32), np.zeros(32, np.float32))
    np.testing.assert_allclose(first.probe_maps, start, rtol=4 * F16_RTOL, atol=1e-3)


def test_one_event_line_is_under_80_kb(run_events):
    sizes = [len((json.dumps(e) + "\n").encode()) for e in weights_of(run_events)]
    assert max(sizes) < 80_000
    assert min(sizes) > 2 * 26 * 26 * 32, "the probe's maps are all there"


def test_the_human_progress_says_nothing_of_weights(run_events):
    from digitscope.model.progress import HumanProgress

    with_weights, without = io.StringIO(), io.StringIO()
    for event in run_events:
        HumanProgress(with_weights)(event)
        if event["event"] != "weights":
            HumanProgress(without)(event)
    assert with_weights.getvalue() == without.getvalue() and "epoch" in without.getvalue()
    assert "conv1" not in with_weights.getvalue()


def test_weights_come_at_most_once_per_interval():
    """A slow reader (50 ms per batch event) makes a run of ~1.2 s: at 0.2 s, the events between
    the first and the last are each at least 0.2 s after the one before, by their seconds."""
    import time

    x, y = tiny_set(128, seed=1)
    events: list[dict] = []

    def progress(event: dict) -> None:
        events.append(event)
        if event["event"] == "batch":
            time.sleep(0.05)

    interval = 0.2
    config = TrainConfig(epochs=3, batch_size=16, augment=False, validation_split=0.0, batch_event_interval=0, weights_interval=interval)
    train_model(x, y, config, progress=progress)
    assert sum(e["event"] == "batch" for e in events) == 24
    seconds = [e["seconds"] for e in weights_of(events)]
    during = seconds[:-1]  # the first, then those after batches; the last comes at the end whenever it is
    assert len(during) >= 3, f"the run is long enough for batch-driven events: {seconds}"
    assert (np.diff(during) >= interval - 1e-6).all(), f"no two within {interval} s: {seconds}"


def test_the_dense_network_and_a_zero_interval_report_no_weights():
    from digitscope.model.architecture import build_dense

    x, y = tiny_set(64)
    for model, interval in ((build_dense(), 0.01), (None, 0.0)):
        events: list[dict] = []
        config = TrainConfig(epochs=1, batch_size=16, augment=False, weights_interval=interval)
        train_model(x, y, config, model=model, progress=events.append)
        assert [e["event"] for e in events if e["event"] != "batch"] == ["start", "epoch"], (model, interval)


def test_the_weights_interval_must_be_seconds():
    x, y = tiny_set(16)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="weights_interval"):
            train_model(x, y, TrainConfig(epochs=1, weights_interval=bad))


# --- the command line ------------------------------------------------------------------------


def cli_events(capsys, *args: str) -> list[dict]:
    from digitscope.model.cli import main

    assert main(["train", "--progress", "json", "--epochs", "1", "--batch-size", "16", "--augment", "off", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_command_line_probes_with_the_given_drawing(tiny_mnist, tmp_path, capsys):
    from digitscope.model.drawing import save_drawing
    from digitscope.model.inference import conv3_relu
    from digitscope.model.preprocess import drawing_to_tensor

    save_drawing(vertical_stroke(), tmp_path / "one.json")
    events = cli_events(capsys, "--mnist", str(tiny_mnist), "--limit", "48", "--output", str(tmp_path / "m.keras"),
                        "--probe", str(tmp_path / "one.json"), "--weights-interval", "0.01")
    frames = [LearningFrame.from_event(e) for e in weights_of(events)]
    assert len(frames) >= 3 and frames[0].step == 0 and frames[-1].step == 3
    assert events[-1]["event"] == "saved"
    one = drawing_to_tensor(vertical_stroke())
    assert not np.allclose(one, default_probe(), atol=0.1)
    start = conv3_relu(one[..., None], frames[0].conv1.reshape(9, 32), np.zeros(32, np.float32))
    np.testing.assert_allclose(frames[0].probe_maps, start, rtol=4 * F16_RTOL, atol=1e-3)
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["config"]["weights_interval"] == 0.01 and "probe" not in meta["config"]


def test_the_command_line_sends_none_at_a_zero_interval(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "m.keras"
    events = cli_events(capsys, "--mnist", str(tiny_mnist), "--limit", "32", "--output", str(out), "--weights-interval", "0")
    assert "batch" in {e["event"] for e in events} and "weights" not in {e["event"] for e in events}


def test_a_bad_probe_file_is_said_before_any_data_is_read(tmp_path, capsys):
    from digitscope.model.cli import main

    (tmp_path / "probe.json").write_text("[1, 2]")
    code = main(["train", "--mnist", str(tmp_path / "no-mnist.npz"), "--output", str(tmp_path / "m.keras"),
                 "--probe", str(tmp_path / "probe.json")])
    assert code == 2
    err = capsys.readouterr().err
    assert "the probe drawing" in err and "probe.json" in err and "mnist" not in err.lower()
    assert not (tmp_path / "m.keras").exists()
