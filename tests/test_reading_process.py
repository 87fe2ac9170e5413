"""The child process that reads drawings for the live views, and the fallback when it fails."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from helpers import assert_f32_close, loop, seven, vertical_stroke, wait_for_reading

from digitscope.app.mosaic import LEVELS, ColourScale, dense_mosaic, index_mosaic, pool_mosaic
from digitscope.app.reading import MapColouring, ReaderGone, ReadingProcess, ReadRequest, prepare_reading, read_drawing
from digitscope.model.drawing import Drawing


def _wait_ready(process: ReadingProcess, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not process.ready():
        assert time.monotonic() < deadline, "the reading process never became ready"
        time.sleep(0.02)


def test_child_reads_exactly_like_the_thread(bundled_predictor):
    colouring = MapColouring({"conv1": 8, "conv2": 8})
    process = ReadingProcess(colouring)
    try:
        process.set_weights(bundled_predictor.weights)
        _wait_ready(process)
        for seq, drawing in enumerate([vertical_stroke(), loop()], start=1):
            remote = process.read(ReadRequest(seq, drawing))
            local = prepare_reading(read_drawing(seq, drawing, bundled_predictor), MapColouring({"conv1": 8, "conv2": 8}))
            assert remote.seq == seq
            np.testing.assert_allclose(remote.tensor, local.tensor)
            assert_f32_close(remote.prediction.probabilities, local.prediction.probabilities)
            for name in ("conv1", "conv2"):
                np.testing.assert_allclose(remote.prediction.activations[name], local.prediction.activations[name], atol=1e-5)
                assert remote.prepared[name][0].shape == local.prepared[name][0].shape
        assert remote.prediction.digit == 0
        empty = process.read(ReadRequest(9, Drawing(280, 280, 18, [])))
        assert empty.tensor is None and empty.prediction is None, "an empty canvas reads as empty in the child too"
    finally:
        process.close()
    assert not process._proc.is_alive()


def test_a_dead_child_is_reported_not_waited_for(bundled_predictor):
    process = ReadingProcess()
    process.set_weights(bundled_predictor.weights)
    _wait_ready(process)
    os.kill(process.pid, signal.SIGKILL)
    process._proc.join(5)
    with pytest.raises(ReaderGone):
        process.read(ReadRequest(1, vertical_stroke()))
    process.close()


def test_colour_mosaic_scale_follows_the_hysteresis():
    acts = np.zeros((3, 3, 2), np.float32)
    acts[1, 1, 0] = 1.2
    index, level = index_mosaic(acts, 2, ColourScale())
    assert level == 1.5
    assert abs(int(index[1, 1]) - 1.2 / 1.5 * (LEVELS - 1)) <= 1, "a value is coloured by its place on the scale"


@pytest.fixture
def process_window(open_window):
    return open_window(reading_process=True)


def wait_for_child(qtbot, window) -> None:
    def child_ready():
        window.request_reading()  # the child starts, and reports ready, on a reading request
        return window.worker.process_ready()

    qtbot.waitUntil(child_ready, timeout=30000)


def _draw_and_settle(qtbot, window, drawing):
    window.canvas.set_drawing(drawing)
    return wait_for_reading(qtbot, window)


def test_window_reads_in_the_child_and_falls_back_when_it_dies(qtbot, process_window):
    w = process_window
    wait_for_child(qtbot, w)
    pid = w.worker.process_pid
    assert pid is not None and pid != os.getpid()
    assert _draw_and_settle(qtbot, w, vertical_stroke()).prediction.digit == 1
    os.kill(pid, signal.SIGKILL)
    reading = _draw_and_settle(qtbot, w, loop())
    assert reading.prediction is not None and reading.prediction.digit == 0, "read in the thread once the child is gone"
    assert w.worker.use_process is False and w.worker.process_pid is None


def test_closing_the_window_stops_the_child(qtbot, process_window):
    w = process_window
    wait_for_child(qtbot, w)
    proc = w.worker._link._process._proc
    w.close()
    assert not proc.is_alive()


def test_child_reads_with_a_compared_model_and_saliency_too(bundled_predictor):
    from digitscope.model.inference import CnnWeights, Predictor

    w = bundled_predictor.weights
    other = Predictor(weights=CnnWeights({"conv1": (w.kernel1, w.b1), "conv2": (w.w2.reshape(3, 3, 32, 64), w.b2),
                                          "dense": (w.w3, w.b3), "probabilities": (w.w4, w.b4 * 0.5)}))
    process = ReadingProcess()
    try:
        process.set_weights(w)
        _wait_ready(process)
        assert process.read(ReadRequest(1, loop())).second is None
        process.set_second(other.weights)
        remote = process.read(ReadRequest(2, loop(), saliency=True))
        local = read_drawing(2, loop(), bundled_predictor, saliency=True)
        assert_f32_close(remote.second, other.predict(remote.tensor).probabilities)
        np.testing.assert_allclose(remote.saliency, local.saliency, atol=1e-5)
        assert remote.placement == local.placement
        process.set_second(None)
        assert process.read(ReadRequest(3, loop())).second is None
    finally:
        process.close()


def test_the_child_sends_whole_only_the_activations_asked_for(bundled_predictor):
    process = ReadingProcess(MapColouring({"conv1": 8, "conv2": 8}))
    try:
        process.set_weights(bundled_predictor.weights)
        _wait_ready(process)
        full = process.read(ReadRequest(1, loop()))
        trimmed = process.read(ReadRequest(2, loop(), keep=frozenset()))
        assert set(full.prediction.activations) == {"conv1", "conv2", "pool", "dense"} and full.channel_max is None
        assert trimmed.prediction.activations == {}
        np.testing.assert_array_equal(trimmed.prediction.probabilities, full.prediction.probabilities)
        for layer in ("conv1", "conv2", "pool"):  # each map's maximum comes instead, for the hover text
            np.testing.assert_array_equal(trimmed.channel_max[layer], full.prediction.activations[layer].max(axis=(0, 1)))
        for layer in ("conv1", "conv2"):  # the mosaics are coloured in the child all the same
            np.testing.assert_array_equal(trimmed.prepared[layer][0], full.prepared[layer][0])
        some = process.read(ReadRequest(3, loop(), keep=frozenset({"conv2"})))
        assert set(some.prediction.activations) == {"conv2"}
        assert set(some.prepared) == {"conv1", "conv2"}
        more = process.read(ReadRequest(4, loop(), keep=frozenset(), mosaics=frozenset({"pool", "dense"})))
        pooled = pool_mosaic(full.prediction.activations["pool"], full.prepared["conv2"][1])[0]
        np.testing.assert_array_equal(more.prepared["pool"][0], pooled)
        np.testing.assert_array_equal(more.prepared["dense"][0], dense_mosaic(full.prediction.activations["dense"], ColourScale())[0])
    finally:
        process.close()


def test_open_views_get_the_activations_they_need_from_the_child(qtbot, process_window):
    w = process_window
    wait_for_child(qtbot, w)
    reading = _draw_and_settle(qtbot, w, loop())
    assert reading.prediction.activations == {}, "no view needs them whole: they stay in the child"
    true_max = w.predictor.predict(reading.tensor).activations["conv2"][:, :, 5].max()
    assert f"max {true_max:.2f}" in w.maps["conv2"].describe(5), "hover text from the maps' maxima"
    dialog = w.show_map_detail("conv2", 5)
    assert w.session.keep == {"conv2"}
    assert float(dialog.image.image.max()) == pytest.approx(float(true_max)), "the enlarged map at once, completed in-process"
    reading = _draw_and_settle(qtbot, w, vertical_stroke())
    assert set(reading.prediction.activations) == {"conv2"}
    dialog.close()
    assert w.session.keep == frozenset()
    view = w.show_pipeline()  # on conv1's step-through
    assert w.session.keep == {"conv1"}, "the strip's maps come laid out: their values stay in the child"
    assert w.session.mosaics == {"pool", "dense"}
    assert {"conv1", "conv2", "pool", "dense"} <= set(w.latest.prediction.activations), "the view opens on whole activations"
    assert all(view.strip.images[k] is not None for k in ("conv1", "conv2", "pool", "dense")), "drawn at once, not at the next reading"
    reading = _draw_and_settle(qtbot, w, loop())
    assert set(reading.prediction.activations) == {"conv1"}
    full = w.predictor.predict(reading.tensor).activations
    np.testing.assert_array_equal(reading.prepared["pool"][0], pool_mosaic(full["pool"], reading.prepared["conv2"][1])[0])
    assert reading.prepared["dense"][0].shape == (16, 8)
    for key, shape in (("conv2", (24, 24, 64)), ("pool", (12, 12, 64))):
        assert view.strip.images[key] is not None and view.strip.grids[key] == shape, f"the strip's {key} from its colours"
    assert view.strip.images["dense"] is not None
    view.select("conv2", 3)  # conv2's step-through needs both layers: the reading on screen is completed at once
    assert w.session.keep == {"conv1", "conv2"}
    assert view._why_not("conv2") is None
    np.testing.assert_array_equal(view.panels["conv2"].data["out"], w.predictor.predict(reading.tensor).activations["conv2"])
    reading = _draw_and_settle(qtbot, w, vertical_stroke())
    assert set(reading.prediction.activations) == {"conv1", "conv2"}
    view.close()
    assert w.session.keep == frozenset() and w.session.mosaics == frozenset()
    reading = _draw_and_settle(qtbot, w, loop())
    assert set(reading.prepared) == {"conv1", "conv2"}, "closed: the child lays out only the window's maps"


def test_a_hung_child_is_given_up_and_the_thread_reads(qtbot, process_window, monkeypatch):
    from digitscope.app.process_link import ProcessLink

    monkeypatch.setattr(ProcessLink, "TIMEOUT_MS", 400)  # the link is made on the first reading request
    w = process_window
    wait_for_child(qtbot, w)
    pid = w.worker.process_pid
    assert _draw_and_settle(qtbot, w, vertical_stroke()).prediction.digit == 1
    os.kill(pid, signal.SIGSTOP)  # alive, but never answers
    try:
        reading = _draw_and_settle(qtbot, w, loop())
        assert reading.prediction is not None and reading.prediction.digit == 0, "the drawing the child kept is read here"
        assert w.worker.use_process is False and w.worker.process_pid is None
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # already stopped by the link


def test_the_child_reads_dense_networks_too(bundled_predictor):
    from digitscope.app.reading import numpy_weights
    from digitscope.model.inference import DenseWeights, Predictor

    rng = np.random.default_rng(3)
    dense = Predictor(dense=DenseWeights([(rng.normal(0, 0.05, (784, 16)), rng.normal(0, 0.1, 16), "relu"),
                                          (rng.normal(0, 0.3, (16, 10)), rng.normal(0, 0.1, 10), "softmax")]))
    assert numpy_weights(dense) is dense.dense and numpy_weights(bundled_predictor) is bundled_predictor.weights
    process = ReadingProcess(MapColouring({"conv1": 8, "conv2": 8}))
    try:
        process.set_weights(numpy_weights(dense))
        _wait_ready(process)
        remote, local = process.read(ReadRequest(1, loop())), read_drawing(1, loop(), dense)
        assert_f32_close(remote.prediction.probabilities, local.prediction.probabilities)
        assert remote.prepared == {}, "no conv maps to colour"
        process.set_weights(numpy_weights(bundled_predictor))  # and a CNN compared with a Dense network
        _wait_ready(process)
        process.set_second(numpy_weights(dense))
        both = process.read(ReadRequest(2, loop()))
        assert_f32_close(both.second, local.prediction.probabilities)
        assert both.prediction.digit == 0
    finally:
        process.close()


def test_an_answer_waiting_behind_a_busy_event_loop_is_not_taken_for_a_hang(qtbot, process_window):
    import time

    w = process_window
    wait_for_child(qtbot, w)
    pid, link = w.worker.process_pid, w.worker._link
    w.canvas.set_drawing(loop())
    time.sleep(0.5)  # the GUI thread busy: the answer waits in the pipe, unread
    shown = w.latest.seq
    link._overdue()  # as if the watchdog's timeout were handled before the pipe's notice
    assert w.latest.seq > shown, "the waiting answer was taken"
    assert w.worker.use_process and w.worker.process_pid == pid, "the child answered: it is kept"
    assert wait_for_reading(qtbot, w).prediction.digit == 0 and w.worker.process_pid == pid


class _CountingColouring(MapColouring):
    """The live views' hook, recording which object each reading was laid out by."""

    calls: list[int] = []

    def __call__(self, reading, mosaics=frozenset()):
        _CountingColouring.calls.append(id(self))
        return super().__call__(reading, mosaics)


def test_the_child_reads_once_before_it_says_ready_on_a_copy_of_the_hook(bundled_predictor):
    """A process's first reading imports and runs everything for the first time (~30 ms): the
    child does it before reporting ready, so it never falls on the person's first stroke, and
    on a copy of the hook, whose colour scales must not remember that drawing."""
    import multiprocessing as mp
    import threading

    from digitscope.app.reading import Ready, SetWeights, Stop, serve

    hook = _CountingColouring({"conv1": 8, "conv2": 8})
    scales = {name: vars(scale).copy() for name, scale in hook.scales.items()}
    _CountingColouring.calls.clear()
    parent, child = mp.Pipe()
    thread = threading.Thread(target=serve, args=(child, hook), daemon=True)
    thread.start()
    parent.send(SetWeights(1, bundled_predictor.weights, bundled_predictor.verdict))
    assert parent.poll(30), "no answer to the weights"
    assert parent.recv() == Ready(1)
    assert len(_CountingColouring.calls) == 1 and _CountingColouring.calls[0] != id(hook)
    assert {name: vars(scale) for name, scale in hook.scales.items()} == scales
    parent.send(ReadRequest(1, vertical_stroke()))
    assert parent.poll(30)
    reading = parent.recv()
    assert reading.prediction is not None and _CountingColouring.calls[-1] == id(hook)
    parent.send(Stop())
    thread.join(5)


def test_warm_up_reads_with_saliency_and_every_mosaic(bundled_predictor):
    from digitscope.app.reading import warm_up

    reading = warm_up(bundled_predictor, MapColouring({"conv1": 8, "conv2": 8}))
    assert reading.prediction is not None and reading.saliency is not None
    assert set(reading.prepared) == {"conv1", "conv2", "pool", "dense"}


def test_the_child_judges_with_the_verdict_it_is_sent(bundled_predictor):
    """Readings from the child carry the verdict, as the in-thread ones do."""
    from helpers import letter_h

    process = ReadingProcess()
    try:
        process.set_weights(bundled_predictor.weights, bundled_predictor.verdict)
        h = process.read(ReadRequest(1, letter_h()), timeout=60)
        s7 = process.read(ReadRequest(2, seven()), timeout=10)
        assert h.prediction.is_digit is False and s7.prediction.is_digit is True
        assert h.prediction.digit_score == pytest.approx(bundled_predictor.predict(h.tensor).digit_score, rel=1e-5, abs=1e-5)
        process.set_weights(bundled_predictor.weights)  # no verdict: none said
        assert process.read(ReadRequest(3, letter_h()), timeout=60).prediction.is_digit is None
    finally:
        process.close()
