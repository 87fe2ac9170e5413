"""TensorFlow Serving's REST API on ``digitscope serve``: routes, both request formats, its errors.

The comparison with the exported SavedModel itself (what TensorFlow Serving runs) is in test_export.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from digitscope.model import tf_serving
from digitscope.model.tf_serving import ServingError, parse_predict, route
from helpers import http_call, serving


@pytest.fixture(scope="module")
def server(bundled_predictor):
    with serving(bundled_predictor, max_bytes=200_000, timeout_s=2.0) as srv:
        yield srv


def call(server, method, path, body=None, headers=None):
    status, doc, _ = http_call(server, method, path, json.dumps(body).encode() if isinstance(body, dict) else body, headers)
    return status, doc


def images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 28, 28, 1), dtype=np.float32)


def test_routes_follow_tf_servings_urls():
    assert route("/v1/models/digitscope").action == "status"
    assert route("/v1/models/digitscope/versions/1").action == "status"
    assert route("/v1/models/digitscope/metadata").action == "metadata"
    assert route("/v1/models/digitscope/versions/1/metadata").action == "metadata"
    assert route("/v1/models/digitscope:predict") == tf_serving.ServingRoute("predict", "POST")
    assert route("/v1/models/digitscope/versions/1:predict").method == "POST"
    for path, message in [
        ("/v1/models/mnist:predict", "Latest(mnist)"),
        ("/v1/models/digitscope/versions/7:predict", "Specific(digitscope, 7)"),
        ("/v1/models/digitscope/labels/stable", "label"),
        ("/v1/models/digitscope:classify", "malformed"),
        ("/v1/models/", "malformed"),
    ]:
        with pytest.raises(ServingError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
            route(path)
        assert err.value.status == 404


def test_row_and_columnar_bodies_give_one_batch():
    x = images(3)
    rows = parse_predict(json.dumps({"instances": x.tolist()}).encode())
    assert not rows.columnar and rows.images.dtype == np.float32
    np.testing.assert_array_equal(rows.images, x)
    named = parse_predict(json.dumps({"signature_name": "serving_default", "instances": [{"image": v} for v in x.tolist()]}).encode())
    np.testing.assert_array_equal(named.images, x)
    for inputs in (x.tolist(), {"image": x.tolist()}):
        cols = parse_predict(json.dumps({"inputs": inputs}).encode())
        assert cols.columnar
        np.testing.assert_array_equal(cols.images, x)


@pytest.mark.parametrize(("body", "message"), [
    (b"not json", "JSON parse error"),
    (b"[1, 2]", "JSON object"),
    (b"{}", "exactly one of"),
    (json.dumps({"instances": [], "inputs": []}).encode(), "exactly one of"),
    (json.dumps({"instances": []}).encode(), "non-empty list"),
    (json.dumps({"instances": {"image": 1}}).encode(), "non-empty list"),
    (json.dumps({"instances": [[[0.0]] * 28] * 2}).encode(), r"shape \[2, 28, 1\]"),
    (json.dumps({"instances": [np.zeros((28, 28)).tolist()]}).encode(), r"shape \[1, 28, 28\]"),
    (json.dumps({"instances": [np.zeros((28, 28, 1)).tolist(), [1.0]]}).encode(), "not a float tensor"),
    (json.dumps({"instances": [[["a"]]]}).encode(), "not a float tensor"),
    (json.dumps({"instances": [{"pixels": 1}]}).encode(), "unknown input 'pixels'"),
    (json.dumps({"instances": [{}]}).encode(), "missing input 'image'"),
    (json.dumps({"signature_name": "predict_images", "instances": [1]}).encode(), "not found in signature def"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON parse error"),
])
def test_malformed_requests_are_400_with_tf_servings_error_shape(server, body, message):
    with pytest.raises(ServingError, match=message) as err:
        parse_predict(body)
    assert err.value.status == 400
    if len(body) < server.max_bytes:
        status, doc = call(server, "POST", "/v1/models/digitscope:predict", body)
        assert status == 400 and set(doc) == {"error"}
        assert err.value.args[0] == doc["error"]


def test_predict_answers_like_the_model(server, bundled_predictor):
    x = images(4, seed=1)
    expected = bundled_predictor.probabilities(x)
    status, doc = call(server, "POST", "/v1/models/digitscope/versions/1:predict", {"instances": x.tolist()},
                       {"Content-Type": "application/json"})
    assert status == 200 and set(doc) == {"predictions"}
    np.testing.assert_allclose(doc["predictions"], expected, atol=1e-6)
    status, doc = call(server, "POST", "/v1/models/digitscope:predict", {"inputs": x[:1].tolist()},
                       {"Content-Type": "application/x-www-form-urlencoded"})  # what curl -d sends
    assert status == 200 and set(doc) == {"outputs"}
    np.testing.assert_allclose(doc["outputs"], expected[:1], atol=1e-5)


def test_status_and_metadata(server):
    status, doc = call(server, "GET", "/v1/models/digitscope")
    assert status == 200
    assert doc == {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    status, doc = call(server, "GET", "/v1/models/digitscope/versions/1/metadata")
    assert status == 200 and doc["model_spec"]["name"] == "digitscope"
    signature = doc["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert [d["size"] for d in signature["inputs"]["image"]["tensor_shape"]["dim"]] == ["-1", "28", "28", "1"]
    assert [d["size"] for d in signature["outputs"]["probabilities"]["tensor_shape"]["dim"]] == ["-1", "10"]
    assert call(server, "HEAD", "/v1/models/digitscope")[0] == 200


def test_wrong_model_method_or_size(server):
    status, doc = call(server, "POST", "/v1/models/mnist:predict", {"instances": [1]})
    assert (status, doc) == (404, {"error": "Servable not found for request: Latest(mnist)"})
    status, doc = call(server, "GET", "/v1/models/digitscope:predict")
    assert status == 405 and "use POST" in doc["error"]
    status, doc = call(server, "POST", "/v1/models/digitscope/metadata", {})
    assert status == 405
    status, doc = call(server, "POST", "/v1/models/digitscope:predict", {"instances": images(40).tolist()})
    assert status == 413 and "too large" in doc["error"]
    status, doc = call(server, "GET", "/health")
    assert status == 200, "the server serves on after them"


def test_the_index_lists_the_tf_serving_endpoints(server):
    status, doc = call(server, "GET", "/")
    assert status == 200
    assert "POST /v1/models/digitscope:predict" in doc["endpoints"]
