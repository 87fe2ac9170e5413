"""``digitscope export --format savedmodel``: a SavedModel with the documented signature."""

from __future__ import annotations

import numpy as np
import pytest
from digitscope.model.cli import main as cli_main
from digitscope.model.examples import example_drawings
from digitscope.model.preprocess import drawing_to_tensor


def test_the_savedmodel_serves_the_same_probabilities(tmp_path, bundled_predictor, capsys):
    out = tmp_path / "models" / "digitscope" / "1"
    assert cli_main(["export", "--format", "savedmodel", str(out)]) == 0
    assert "serving_default" in capsys.readouterr().out
    assert (out / "saved_model.pb").is_file()
    assert [p.name for p in out.parent.iterdir()] == ["1"], "no temporary folder is left beside it"

    import tensorflow as tf

    loaded = tf.saved_model.load(str(out))
    serve = loaded.signatures["serving_default"]
    spec = serve.structured_input_signature[1]
    assert list(spec) == ["image"] and spec["image"].shape.as_list() == [None, 28, 28, 1]
    x = np.stack([drawing_to_tensor(d) for d in example_drawings().values()])[..., None]
    got = serve(image=tf.constant(x))["probabilities"].numpy()
    expected = bundled_predictor.probabilities(x[..., 0])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert list(got.argmax(axis=1)) == list(range(10))


def test_export_never_overwrites_a_folder_with_files(tmp_path, capsys):
    target = tmp_path / "1"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    assert cli_main(["export", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (target / "keep.txt").read_text() == "mine"


def test_only_known_formats(capsys):
    with pytest.raises(SystemExit):
        cli_main(["export", "--format", "onnx", "x"])
