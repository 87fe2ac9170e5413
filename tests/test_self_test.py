"""``digitscope --self-test``: passes on a whole installation, names what is broken."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import digitscope.model.modelfile as modelfile
from digitscope.app.self_test import run_self_test
from digitscope.model.cli import main as cli_main


def test_self_test_passes_through_the_real_entry_point(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", HOME=str(tmp_path))
    env.pop("QT_QPA_PLATFORM", None)  # the self-test renders offscreen by itself
    done = subprocess.run(
        [sys.executable, "-m", "digitscope", "--self-test"], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for name in ("bundled model", "ten digits", "main window", "training"):
        assert any(line.startswith(f"ok   {name}") for line in lines), done.stdout
    assert "reading process pid" in done.stdout, "the window read through its child process"
    assert lines[-1] == "self-test passed"


def test_a_corrupt_bundled_model_fails_the_self_test_by_name(qapp, tmp_path, monkeypatch):
    broken = tmp_path / "digitscope-cnn.keras"
    broken.write_bytes(b"PK\x03\x04 not really a model")
    monkeypatch.setattr(modelfile, "bundled_model_path", lambda: broken)
    out = io.StringIO()
    assert run_self_test(out, checks=["bundled model", "ten digits"]) == 1
    text = out.getvalue()
    assert "FAIL bundled model" in text and "FAIL ten digits" in text
    assert text.rstrip().endswith("self-test FAILED: bundled model, ten digits")


def test_the_command_line_hands_self_test_and_gui_to_the_app_layer(capsys):
    calls = []
    assert cli_main(["--self-test"], gui=lambda: calls.append("gui") or 0, self_test=lambda: calls.append("test") or 5) == 5
    assert cli_main([], gui=lambda: calls.append("gui") or 0, self_test=lambda: 9) == 0
    assert calls == ["test", "gui"]
    assert cli_main([]) == 2, "without the app layer, no command is a clear error"
    assert "not available" in capsys.readouterr().err
