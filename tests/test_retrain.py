"""Retraining from the menu: a real `digitscope train` process driven by the dialog.

Each test trains on a tiny synthetic MNIST the test makes, so a run takes
seconds (most of it TensorFlow's import in the child process).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import dialog_for, label_some
from PySide6.QtWidgets import QMessageBox

from digitscope.model.files import sha256_file
from digitscope.model.modelfile import bundled_model_path

pytestmark = pytest.mark.usefixtures("no_modal_questions")


def no_candidates(data_dir: Path) -> bool:
    folder = data_dir / "models" / "candidates"
    return not folder.exists() or not any(folder.iterdir())


def test_retrain_through_the_dialog_keep_and_reopen(qtbot, window, open_window, tiny_mnist, data_dir, settings_file, warnings):
    bundled_sha = sha256_file(bundled_model_path())
    label_some(window)
    assert window.store.counts()[1] == 3 and window.store.counts()[0] == 3
    (data_dir / "my-drawings" / "7").mkdir(parents=True)
    (data_dir / "my-drawings" / "7" / "broken.json").write_text("{not a drawing")
    dialog = dialog_for(window, tiny_mnist)
    assert "Include my drawings (7)" == dialog.use_drawings.text()
    events: list[dict] = []
    dialog.train_button.click()
    dialog.run.event.connect(events.append)
    with qtbot.waitSignal(dialog.run.finished, timeout=240000) as done:
        pass
    assert done.args[0] == "done", done.args[1]
    kinds = [e["event"] for e in events]
    assert "batch" in kinds and kinds.count("epoch") == 2 and "compared" in kinds
    assert len(dialog.history["loss"]) == 2 and len(dialog.history["val_loss"]) == 2, "live curves got a point per epoch"
    assert dialog.curves["loss"].getData()[0] is not None and len(dialog.curves["loss"].getData()[0]) == 2
    assert dialog.run_bar.value() == 100
    drawings_event = next(e for e in events if e["event"] == "drawings")
    assert [Path(s["path"]).name for s in drawings_event["skipped"]] == ["broken.json"], "the corrupt file is skipped and named"
    assert drawings_event["trained"] + drawings_event["held_out"] == 6
    assert "broken.json" in dialog.status.text()
    assert "64" in dialog.results.horizontalHeaderItem(0).text(), "64 test images in the tiny MNIST"
    assert dialog.results.item(0, 0).text().endswith("%") and dialog.results.item(1, 0).text().endswith("%")
    if drawings_event["held_out"]:  # about a fifth of six drawings: sometimes none
        assert dialog.results.item(1, 1).text().endswith("%")
    assert dialog.confusion.item(0, 0) is not None
    assert dialog.keep_button.isEnabled()
    with qtbot.waitSignal(window.loader.loaded, timeout=60000):
        kept = dialog.keep()
    assert kept is not None and kept.parent == data_dir / "models" and kept.is_file()
    assert Path(window.predictor.path) == kept, "the kept model is active"
    assert no_candidates(data_dir)
    assert sha256_file(bundled_model_path()) == bundled_sha
    assert not warnings
    window.close()

    again = open_window(settings_file)  # the app started again
    assert Path(again.predictor.path) == kept, "still active after a restart"
    again.reset_model()
    qtbot.waitUntil(lambda: Path(again.predictor.path) == bundled_model_path(), timeout=30000)
    again.close()


def test_cancel_mid_epoch_stops_and_changes_nothing(qtbot, window, tiny_mnist, data_dir):
    # The mechanism, not the stopwatch: Cancel asks the run to stop and arms the kill (how long
    # cancelling takes is measured by benchmarks/retrain_cancel.py).
    from digitscope.app.training_process import STOP_GRACE_MS

    before = sha256_file(bundled_model_path())
    dialog = dialog_for(window, tiny_mnist, epochs=200, batch=8)
    dialog.train_button.click()
    with qtbot.waitSignal(dialog.run.event, timeout=120000, check_params_cb=lambda e: e.get("event") == "batch"):
        pass
    with qtbot.waitSignal(dialog.run.finished, timeout=60000) as done:
        dialog.cancel_button.click()
        timer = dialog.run._kill_timer
        assert timer.isActive() and timer.interval() == STOP_GRACE_MS, "the kill is armed"
    assert done.args[0] == "cancelled"
    assert not dialog.run._kill_timer.isActive(), "the run ended: the kill is disarmed"
    assert not dialog.busy() and dialog.train_button.isEnabled() and not dialog.keep_button.isEnabled()
    assert no_candidates(data_dir)
    assert sha256_file(bundled_model_path()) == before
    assert Path(window.predictor.path) == bundled_model_path()


def test_a_crashing_training_process_is_reported_and_changes_nothing(qtbot, window, tiny_mnist, data_dir, warnings):
    before = sha256_file(bundled_model_path())
    dialog = dialog_for(window, tiny_mnist, epochs=200, batch=8)
    dialog.train_button.click()
    with qtbot.waitSignal(dialog.run.event, timeout=120000, check_params_cb=lambda e: e.get("event") == "batch"):
        pass
    with qtbot.waitSignal(dialog.run.finished, timeout=10000) as done:
        dialog.run.process.kill()
    assert done.args[0] == "failed"
    assert warnings and "Training failed" in warnings[0] and "unchanged" in warnings[0]
    assert no_candidates(data_dir) and sha256_file(bundled_model_path()) == before
    assert Path(window.predictor.path) == bundled_model_path()
    assert dialog.train_button.isEnabled(), "a new run can start"


def test_a_full_disk_while_saving_keeps_nothing(qtbot, window, tiny_mnist, data_dir, tmp_path, monkeypatch, warnings):
    # The training process is a real `python -m digitscope train`; this sitecustomize makes
    # its file system report "No space left on device" when the model is being saved.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import errno\n"
        "import digitscope.model.files as files\n"
        "def full(path):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "files._fsync = full\n"
    )
    import os

    monkeypatch.setenv("PYTHONPATH", str(hook) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    before = sha256_file(bundled_model_path())
    dialog = dialog_for(window, tiny_mnist, epochs=1)
    dialog.train_button.click()
    with qtbot.waitSignal(dialog.run.finished, timeout=240000) as done:
        pass
    assert done.args[0] == "failed"
    assert "No space left on device" in done.args[1]
    assert warnings and "unchanged" in warnings[0]
    models = data_dir / "models"
    assert not any(p.is_file() for p in models.rglob("*")), f"no model or temp file left: {list(models.rglob('*'))}"
    assert sha256_file(bundled_model_path()) == before
    assert Path(window.predictor.path) == bundled_model_path()


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
def test_closing_the_app_during_training_asks_then_cancels(qtbot, window, tiny_mnist, data_dir, monkeypatch, answer):
    asked: list[str] = []

    def question(parent, title, text, *a, **k):
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    dialog = dialog_for(window, tiny_mnist, epochs=200, batch=8)
    dialog.train_button.click()
    with qtbot.waitSignal(dialog.run.event, timeout=120000, check_params_cb=lambda e: e.get("event") == "batch"):
        pass
    window.close()
    assert asked and "Stop it and quit" in asked[0]
    if answer == QMessageBox.StandardButton.No:
        assert window.isVisible() and dialog.busy(), "No keeps the app and the run going"
        with qtbot.waitSignal(dialog.run.finished, timeout=60000):
            dialog.cancel_training()
    else:
        assert not window.isVisible()
        assert not dialog.busy(), "closing returns once the run has ended (stopped, or killed)"
    assert no_candidates(data_dir)
