"""The reading process imports no Qt, and no TensorFlow or Keras.

``app/reading.py`` is what the window's child process runs (``serve``): it starts in a
fresh interpreter, and Qt there would cost its start-up time and memory for nothing (and
the frozen app's child has none to spare). Here a fresh interpreter blocks every Qt import
(a meta path finder that raises ImportError and records the attempt), imports what the
child imports, takes the messages the window sends it (pickled, as the pipe carries them)
and reads one drawing with the bundled model, through the child's own loop.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
from digitscope.app.reading import MapColouring, ReadRequest, SetWeights
from helpers import assert_f32_close, vertical_stroke

BLOCKED = ("PySide6", "shiboken6", "pyqtgraph")

CHILD = r"""
import importlib.abc
import json
import pickle
import sys
import threading

BLOCKED = {blocked!r}
attempts = []


class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            attempts.append(name)
            raise ImportError(f"the reading process must not import {{name}}")
        return None


def loaded(names):
    return sorted(m for m in sys.modules if m.partition(".")[0] in names)


sys.meta_path.insert(0, NoQt())
before = loaded(BLOCKED)
try:
    import PySide6  # noqa: F401 (the finder must refuse it)
except ImportError:
    refused = True
else:
    refused = False
attempts.clear()

import multiprocessing as mp

import digitscope.__main__  # noqa: F401 (a spawned child imports the parent's main module)
from digitscope.app.reading import Reading, Ready, Stop, serve

with open(sys.argv[1], "rb") as fh:
    set_weights, prepare, request = pickle.load(fh)
parent, child = mp.Pipe()
thread = threading.Thread(target=serve, args=(child, prepare), daemon=True)
thread.start()
parent.send(set_weights)
assert parent.poll(60), "no answer to the weights"
ready = parent.recv()
parent.send(request)
assert parent.poll(60), "no reading"
reading = parent.recv()
parent.send(Stop())
thread.join(10)
assert isinstance(ready, Ready) and isinstance(reading, Reading), (ready, reading)
pred = reading.prediction
print(json.dumps({{
    "before": before,
    "refused": refused,
    "attempts": attempts,
    "qt": loaded(BLOCKED),
    "tf_keras": loaded({{"tensorflow", "keras", "tf_keras"}}),
    "error": reading.error,
    "digit": None if pred is None else pred.digit,
    "is_digit": None if pred is None else pred.is_digit,
    "probabilities": None if pred is None else pred.probabilities.tolist(),
    "tensor": None if reading.tensor is None else reading.tensor.tolist(),
    "saliency": None if reading.saliency is None else list(reading.saliency.shape),
    "prepared": sorted(reading.prepared or {{}}),
    "stopped": not thread.is_alive(),
}}))
"""


def test_the_reading_process_reads_with_qt_blocked_and_imports_no_qt_tensorflow_or_keras(bundled_predictor, tmp_path):
    colouring = MapColouring({"conv1": 8, "conv2": 8})
    request = ReadRequest(1, vertical_stroke(), saliency=True, keep=frozenset(), mosaics=MapColouring.MOSAICS)
    messages = tmp_path / "messages.pickle"
    messages.write_bytes(pickle.dumps((SetWeights(1, bundled_predictor.weights, bundled_predictor.verdict), colouring, request)))
    run = subprocess.run(
        [sys.executable, "-c", CHILD.format(blocked=BLOCKED), str(messages)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.splitlines()[-1])
    assert out["before"] == [] and out["refused"], "Qt is blocked from the start (or the test would prove nothing)"
    assert out["attempts"] == [], f"the reading process tried to import {out['attempts']}"
    assert out["qt"] == [], f"Qt modules loaded: {out['qt']}"
    assert out["tf_keras"] == [], f"TensorFlow or Keras loaded: {out['tf_keras']}"
    assert out["stopped"], "the loop ends on Stop"
    assert out["error"] is None and out["digit"] == 1
    tensor = np.array(out["tensor"], np.float32)
    expected = bundled_predictor.predict(tensor)
    assert_f32_close(np.array(out["probabilities"]), expected.probabilities)
    assert out["is_digit"] == expected.is_digit
    assert out["saliency"] == [28, 28], "the saliency was worked out"
    assert out["prepared"] == ["conv1", "conv2", "dense", "pool"], "every mosaic was laid out"
