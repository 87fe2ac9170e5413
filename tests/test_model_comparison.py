"""Choosing the network in Retrain, and comparing every trained model in one table and one plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import dialog_for, label_some, seven, wait_for_reading

from digitscope.model.modelfile import bundled_model_path, read_metadata

pytestmark = pytest.mark.usefixtures("no_modal_questions")


def test_choosing_a_network_fits_the_settings_to_it(window):
    dialog = window.show_retrain()
    assert dialog.architecture() == "cnn" and dialog.fine_tune.isChecked(), "the bundled CNN can be fine-tuned"
    dialog.set_architecture("numpy")
    assert not dialog.fine_tune.isEnabled() and dialog.scratch.isChecked()
    assert not dialog.augment.isEnabled() and not dialog.augment.isChecked(), "shown off, as it is"
    assert dialog.rate.value() == pytest.approx(0.5) and dialog.batch.value() == 32
    args = dialog.arguments(Path("out.keras"))
    assert args[args.index("--architecture") + 1] == "numpy"
    assert "--init-model" not in args and "--train-layers" not in args
    assert args[args.index("--augment") + 1] == "off"
    dialog.set_architecture("dense")
    assert dialog.augment.isEnabled() and dialog.augment.isChecked(), "the choice comes back"
    assert not dialog.fine_tune.isEnabled(), "a Dense network cannot start from the CNN"
    assert dialog.rate.value() == pytest.approx(1e-3) and dialog.batch.value() == 32
    dialog.set_architecture("cnn")
    assert dialog.batch.value() == 128
    dialog.set_architecture("cnn")
    assert dialog.fine_tune.isEnabled() and dialog.fine_tune.isChecked()
    args = dialog.arguments(Path("out.keras"))
    assert args[args.index("--init-model") + 1] == str(bundled_model_path())


def test_train_the_numpy_network_keep_it_and_compare(qtbot, window, tiny_mnist, data_dir, warnings):
    label_some(window)
    dialog = window.show_retrain()
    dialog.set_architecture("numpy")
    dialog = dialog_for(window, tiny_mnist, epochs=3)
    dialog.train_button.click()
    with qtbot.waitSignal(dialog.run.finished, timeout=240000) as done:
        pass
    assert done.args[0] == "done", done.args[1]
    assert dialog.candidate.name.startswith("numpy-")
    comparison = dialog.compare_models()
    with qtbot.waitSignal(comparison.measured, timeout=60000):
        pass
    labels = [label for _, label, _ in comparison.rows]
    assert labels == ["bundled CNN · in use", "new (not kept yet)"]

    with qtbot.waitSignal(window.loader.loaded, timeout=60000):
        kept = dialog.keep()
    assert window.predictor.dense is not None, "the kept NumPy network is read in NumPy"
    qtbot.waitUntil(lambda: not comparison.busy() and len(comparison.rows) == 2 and "in use" in comparison.rows[1][1], timeout=60000)
    dialog.close()

    table = window.show_model_comparison()
    with qtbot.waitSignal(table.measured, timeout=60000):
        pass
    meta = read_metadata(kept)
    row = [r for r, (path, _, _) in enumerate(table.rows) if path == kept][0]
    cells = [table.table.item(row, c).text() for c in range(8)]
    assert cells[1] == "NumPy network"
    assert cells[2] == f"{100 * meta['test_accuracy']:.2f} %"
    assert cells[5] == "50,890" and cells[6] == "3"
    gap = meta["history"][-1]["accuracy"] - meta["history"][-1]["val_accuracy"]
    assert cells[7] == f"{100 * gap:+.2f} points"
    # my drawings: the held-out share, read by the model itself
    from digitscope.model.inference import load_predictor
    from digitscope.model.my_drawings import held_out_inputs

    x, y = held_out_inputs(data_dir / "my-drawings")
    if len(y):
        expected = (load_predictor(kept).probabilities(x).argmax(axis=1) == y).mean()
        assert cells[3] == f"{100 * expected:.2f} %"
    else:
        assert cells[3] == "—"
    # the bundled model's time includes the run it was fine-tuned from
    bundled = read_metadata(bundled_model_path())
    minutes = (bundled["training_seconds"] + bundled["base_model"]["training_seconds"]) / 60
    assert table.table.item(0, 4).text() == f"{minutes:.1f} min"
    assert table.table.item(0, 6).text() == f"{bundled['base_model']['epochs']} + {bundled['epochs']}"
    # one plot: the new model's training and validation curves, the bundled model's training curve
    names = [item.name() for item in table.plot.getPlotItem().listDataItems()]
    assert names == ["bundled CNN", f"{kept.stem} · in use", None], "one legend entry per model"
    val = table.plot.getPlotItem().listDataItems()[2].getData()[1]
    np.testing.assert_allclose(val, [e["val_accuracy"] for e in meta["history"]])
    # the main window still reads drawings with it (no feature maps: it has no convolutions)
    window.canvas.set_drawing(seven())
    wait_for_reading(qtbot, window, prediction=True)
    assert not warnings


def test_a_damaged_model_is_a_row_with_its_reason(qtbot, window, data_dir):
    models = data_dir / "models"
    models.mkdir(parents=True)
    (models / "broken.keras").write_bytes(b"not a zip")
    table = window.show_model_comparison()
    with qtbot.waitSignal(table.measured, timeout=60000):
        pass
    assert [label for _, label, _ in table.rows] == ["bundled CNN · in use", "broken"]
    assert "cannot be read" in table.table.item(1, 1).text()
    assert table.table.item(0, 1).text() == "CNN" and table.table.item(0, 3).text() == "—"


def test_summaries_from_metadata_and_drawings(tmp_path, tiny_mnist, capsys):
    from digitscope.model.cli import main
    from digitscope.model.comparison import summarise
    from digitscope.model.mnist import as_inputs, load_mnist

    out = tmp_path / "dense.keras"
    assert main(["train", "--architecture", "dense", "--mnist", str(tiny_mnist), "--epochs", "2", "-o", str(out)]) == 0
    data = load_mnist(tiny_mnist)
    x, y = as_inputs(data.x_test)[..., 0], data.y_test
    s = summarise(out, x, y)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert s.architecture == "dense" and s.parameters == 50_890 and s.epochs == 2
    assert s.mnist_accuracy == meta["test_accuracy"], "the 'drawings' here are the test images themselves"
    assert s.drawings_accuracy == pytest.approx(meta["test_accuracy"])
    assert s.train_curve == [e["accuracy"] for e in meta["history"]]
    assert s.training_seconds == pytest.approx(meta["training_seconds"])


def test_a_refresh_overtakes_a_measurement_under_way(qtbot, window):
    table = window.show_model_comparison()  # measuring the bundled model
    table.refresh([(bundled_model_path(), "again")])  # at once, without waiting for the first
    shown: list[list[str]] = []
    table.measured.connect(lambda: shown.append([label for _, label, _ in table.rows]))
    qtbot.waitUntil(lambda: not table.busy(), timeout=60000)
    qtbot.wait(50)  # any late result has arrived by now
    assert shown[-1] == ["again"] and all(labels == ["again"] for labels in shown), "only the newest measurement is shown"
