"""The `digitscope` command: predict on files the tests write, JSON schema, errors, exit status."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from digitscope.model.cli import main
from digitscope.model.drawing import Drawing, save_drawing
from digitscope.model.preprocess import drawing_to_tensor
from helpers import letter_h, letter_x, loop, seven, vertical_stroke
from PIL import Image


@pytest.fixture
def inputs(tmp_path):
    paths = {}
    for name, d in {"one": vertical_stroke(), "zero": loop(), "seven": seven(), "H": letter_h(), "x": letter_x()}.items():
        p = tmp_path / f"{name}.json"
        save_drawing(d, p)
        paths[name] = p
    # a dark-on-light RGB PNG of the seven, bigger than 28×28
    t = drawing_to_tensor(seven())
    rgb = np.repeat((255 - np.kron(t, np.ones((4, 4))) * 255).astype(np.uint8)[..., None], 3, axis=2)
    Image.fromarray(rgb, "RGB").save(tmp_path / "seven.png")
    paths["png"] = tmp_path / "seven.png"
    (tmp_path / "bad.json").write_text('{"width": 10}')
    paths["bad"] = tmp_path / "bad.json"
    save_drawing(Drawing(100, 100, 5, []), tmp_path / "empty.json")
    paths["empty"] = tmp_path / "empty.json"
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    paths["broken"] = tmp_path / "broken.png"
    return paths


def test_plain_output(inputs, capsys):
    code = main(["predict", str(inputs["one"]), str(inputs["zero"]), str(inputs["seven"]), str(inputs["png"])])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0].startswith(f"{inputs['one']}: 1 (") and lines[0].endswith("%)")
    assert lines[1].startswith(f"{inputs['zero']}: 0 (")
    assert lines[2].startswith(f"{inputs['seven']}: 7 (")
    assert lines[3].startswith(f"{inputs['png']}: 7 (")


def test_plain_output_says_when_it_is_no_digit(inputs, capsys):
    assert main(["predict", str(inputs["H"]), str(inputs["seven"])]) == 0
    h, s7 = capsys.readouterr().out.splitlines()
    assert re.fullmatch(re.escape(f"{inputs['H']}: ") + r"not a digit \(best guess \d, \d+\.\d%\)", h), h
    assert re.fullmatch(re.escape(f"{inputs['seven']}: ") + r"7 \(\d+\.\d%\)", s7), s7


def test_json_schema_and_errors(inputs, capsys):
    names = ["seven", "bad", "empty", "broken", "png", "H", "x"]
    code = main(["predict", "--json", *(str(inputs[n]) for n in names), "missing.png"])
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1, "any failed input makes the exit status 1"
    assert [d["path"] for d in docs] == [*(str(inputs[n]) for n in names), "missing.png"]
    ok = docs[0]
    assert set(ok) == {"path", "digit", "probabilities", "is_digit"} and ok["digit"] == 7 and ok["is_digit"] is True
    assert len(ok["probabilities"]) == 10 and abs(sum(ok["probabilities"]) - 1) < 1e-4
    for letter in docs[5:7]:  # no digit: said, and the network's best guess still given as before
        assert letter["is_digit"] is False and set(letter) == set(ok)
        assert letter["digit"] == int(np.argmax(letter["probabilities"]))
    assert "missing key(s): height" in docs[1]["error"]
    assert "empty" in docs[2]["error"]
    assert "cannot read the image" in docs[3]["error"]
    assert docs[4]["digit"] == 7, "the other inputs still run after failures"
    assert "no such file" in docs[7]["error"]


def test_bad_model_file_is_a_clear_error(inputs, tmp_path, capsys):
    bad = tmp_path / "bad.keras"
    bad.write_text("nope")
    assert main(["predict", "--model", str(bad), str(inputs["seven"])]) == 2
    assert "not a Keras model file" in capsys.readouterr().err


def test_evaluate_on_tiny_mnist(tiny_mnist, capsys):
    assert main(["evaluate", "--mnist", str(tiny_mnist), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["count"] == 64 and len(doc["confusion"]) == 10 and len(doc["per_class_accuracy"]) == 10


@pytest.mark.slow
def test_evaluate_bundled_model_on_mnist(mnist_path, capsys):
    assert main(["evaluate", "--mnist", str(mnist_path)]) == 0
    out = capsys.readouterr().out
    assert "confusion matrix" in out
    accuracy = float(out.split("accuracy ")[1].split("%")[0])
    assert accuracy >= 99.4


def test_console_script_runs_as_a_module(inputs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-m", "digitscope", "predict", "--json", str(inputs["one"])],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["digit"] == 1
    version = subprocess.run([sys.executable, "-m", "digitscope", "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("digitscope ")
