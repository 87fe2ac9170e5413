"""``digitscope export --format savedmodel``: a SavedModel with the documented signature."""

from __future__ import annotations

import numpy as np
import pytest
from digitscope.model.cli import main as cli_main
from digitscope.model.examples import example_drawings
from digitscope.model.preprocess import drawing_to_tensor


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The bundled model exported once, as ``models/digitscope/1`` (TensorFlow Serving's layout)."""
    out = tmp_path_factory.mktemp("export") / "models" / "digitscope" / "1"
    assert cli_main(["export", "--format", "savedmodel", str(out)]) == 0
    return out


def test_the_savedmodel_serves_the_same_probabilities(exported, bundled_predictor):
    out = exported
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


def test_tf_serving_requests_get_the_savedmodels_answer(exported, bundled_predictor):
    """One TensorFlow Serving REST request, row and columnar, against ``digitscope serve``, and the same
    tensors through the exported signature (what TensorFlow Serving runs): the same answer within 1e-5."""
    import http.client
    import json

    import tensorflow as tf
    from helpers import serving

    x = np.stack([drawing_to_tensor(d) for d in example_drawings().values()])[..., None]
    x[3] = 1.0 - x[3]  # also an input no drawing makes
    expected = tf.saved_model.load(str(exported)).signatures["serving_default"](image=tf.constant(x))["probabilities"].numpy()
    answers = {}
    with serving(bundled_predictor) as srv:
        for key, body in {"predictions": {"instances": x.tolist()}, "outputs": {"inputs": {"image": x.tolist()}}}.items():
            conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=20)
            conn.request("POST", "/v1/models/digitscope:predict", json.dumps(body))  # no Content-Type, as curl -d
            resp = conn.getresponse()
            assert resp.status == 200
            answers[key] = json.loads(resp.read())[key]
            conn.close()
    for got in answers.values():
        np.testing.assert_allclose(np.array(got), expected, atol=1e-5)


def test_tf_serving_metadata_describes_the_exported_signature(exported):
    from digitscope.model.tf_serving import metadata_doc
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel.FromString((exported / "saved_model.pb").read_bytes())
    sig = saved.meta_graphs[0].signature_def["serving_default"]
    doc = metadata_doc()["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert doc["method_name"] == sig.method_name
    for ours, theirs in ((doc["inputs"], sig.inputs), (doc["outputs"], sig.outputs)):
        assert set(ours) == set(theirs)
        for name, info in theirs.items():
            assert ours[name]["name"] == info.name
            assert ours[name]["dtype"] == "DT_FLOAT" and info.dtype == 1  # DT_FLOAT
            assert [int(d["size"]) for d in ours[name]["tensor_shape"]["dim"]] == [d.size for d in info.tensor_shape.dim]
