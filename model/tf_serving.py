"""TensorFlow Serving's REST API, as ``digitscope serve`` speaks it beside its own endpoints.

A client written for TensorFlow Serving serving ``digitscope export``'s SavedModel works
unchanged against ``digitscope serve``, and back:

- ``POST /v1/models/digitscope[/versions/1]:predict`` with ``{"instances": [...]}`` (the row
  format: each instance a 28×28×1 tensor, or ``{"image": tensor}``) →
  ``{"predictions": [[10 probabilities], ...]}``; with ``{"inputs": tensor}`` or
  ``{"inputs": {"image": tensor}}`` (the columnar format) → ``{"outputs": [[...], ...]}``.
  ``signature_name``, if given, must be ``serving_default``.
- ``GET /v1/models/digitscope[/versions/1]`` → the model's version status.
- ``GET /v1/models/digitscope[/versions/1]/metadata`` → the signature.
- errors as ``{"error": "..."}``: 400 for a malformed request, 404 for another model or version.

The signature is the export's (:mod:`.export`): ``image`` float32[batch, 28, 28, 1], the
preprocessed tensor (ink high, in [0, 1]), → ``probabilities`` float32[batch, 10]. No
preprocessing happens here, as none happens in TensorFlow Serving.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import numpy as np

MODEL_NAME = "digitscope"
MODEL_VERSION = "1"
SIGNATURE = "serving_default"
INPUT = "image"
OUTPUT = "probabilities"
INPUT_SHAPE = (28, 28, 1)
OUTPUT_SIZE = 10
METHOD = "tensorflow/serving/predict"
PREFIX = "/v1/models/"

_PATH = re.compile(
    r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?(?P<action>:predict|/metadata)?"
)


class ServingError(Exception):
    """A request TensorFlow Serving would refuse: HTTP status and its message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ServingRoute:
    """What a ``/v1/models/...`` path asks for: ``status``, ``metadata`` or ``predict``."""

    action: str
    method: str  # the one HTTP method it answers ("GET" also answers HEAD)


def route(path: str, model_name: str = MODEL_NAME) -> ServingRoute:
    """The route of a path under ``/v1/models/``, or :class:`ServingError` (404) for another model or version."""
    m = _PATH.fullmatch(path)
    if m is None:
        raise ServingError(HTTPStatus.NOT_FOUND, f"malformed request: {path[:200]}")
    name, version, label = m.group("name"), m.group("version"), m.group("label")
    if name != model_name:
        raise ServingError(HTTPStatus.NOT_FOUND, f"Servable not found for request: Latest({name[:100]})")
    if version is not None and version != MODEL_VERSION:
        raise ServingError(HTTPStatus.NOT_FOUND, f"Servable not found for request: Specific({name}, {version[:20]})")
    if label is not None:
        raise ServingError(HTTPStatus.NOT_FOUND, f"Unrecognized servable version label: {label[:100]}")
    action = {":predict": "predict", "/metadata": "metadata", None: "status"}[m.group("action")]
    return ServingRoute(action, "POST" if action == "predict" else "GET")


def status_doc() -> dict[str, Any]:
    """``GET /v1/models/<name>``: GetModelStatusResponse as JSON."""
    return {"model_version_status": [
        {"version": MODEL_VERSION, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}},
    ]}


def _tensor_info(name: str, shape: tuple[int, ...]) -> dict[str, Any]:
    return {"dtype": "DT_FLOAT", "tensor_shape": {"dim": [{"size": str(n), "name": ""} for n in shape], "unknown_rank": False},
            "name": name}


def metadata_doc(model_name: str = MODEL_NAME) -> dict[str, Any]:
    """``GET /v1/models/<name>/metadata``: GetModelMetadataResponse as JSON (the export's signature)."""
    signature = {
        "inputs": {INPUT: _tensor_info(f"{SIGNATURE}_{INPUT}:0", (-1, *INPUT_SHAPE))},
        "outputs": {OUTPUT: _tensor_info("StatefulPartitionedCall:0", (-1, OUTPUT_SIZE))},
        "method_name": METHOD,
        "defaults": {},
    }
    return {"model_spec": {"name": model_name, "signature_name": "", "version": MODEL_VERSION},
            "metadata": {"signature_def": {"signature_def": {SIGNATURE: signature}}}}


@dataclass(frozen=True)
class PredictRequest:
    """A parsed ``:predict`` body: the input batch and which format answers it."""

    images: np.ndarray  # float32 (N, 28, 28, 1)
    columnar: bool


def _bad(message: str) -> ServingError:
    return ServingError(HTTPStatus.BAD_REQUEST, message)


def _named(value: Any, where: str) -> Any:
    """The ``image`` tensor of an ``{"image": ...}`` object (the only input the signature names)."""
    if not isinstance(value, dict):
        return value
    unknown = sorted(set(value) - {INPUT})
    if unknown:
        raise _bad(f"{where}: unknown input {unknown[0][:50]!r}: the signature's only input is {INPUT!r}")
    if INPUT not in value:
        raise _bad(f"{where}: missing input {INPUT!r}")
    return value[INPUT]


def _as_batch(value: Any, where: str) -> np.ndarray:
    try:
        batch = np.array(value, dtype=np.float32)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _bad(f"{where}: not a float tensor ({str(exc).splitlines()[0][:120]})") from None
    if batch.ndim != 1 + len(INPUT_SHAPE) or batch.shape[1:] != INPUT_SHAPE or batch.shape[0] == 0:
        shown = ", ".join(map(str, batch.shape))
        raise _bad(f"{where}: input {INPUT!r} must be float32[batch, 28, 28, 1] with batch ≥ 1; got shape [{shown}]")
    return batch


def parse_predict(body: bytes) -> PredictRequest:
    """The batch of a ``:predict`` body (row or columnar format), or :class:`ServingError` (400)."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise _bad(f"JSON parse error: {str(exc)[:120]}") from None
    if not isinstance(doc, dict):
        raise _bad("the request must be a JSON object with \"instances\" or \"inputs\"")
    signature = doc.get("signature_name", SIGNATURE)
    if signature not in (SIGNATURE, ""):
        raise _bad(f"Serving signature name: {str(signature)[:60]!r} not found in signature def")
    if ("instances" in doc) == ("inputs" in doc):
        raise _bad("the request must have exactly one of \"instances\" (row format) or \"inputs\" (columnar format)")
    if "instances" in doc:
        instances = doc["instances"]
        if not isinstance(instances, list) or not instances:
            raise _bad("\"instances\" must be a non-empty list")
        rows = [_named(item, f"instance {i}") for i, item in enumerate(instances)]
        return PredictRequest(_as_batch(rows, "instances"), columnar=False)
    return PredictRequest(_as_batch(_named(doc["inputs"], "inputs"), "inputs"), columnar=True)


def predict_doc(probabilities: np.ndarray, columnar: bool) -> dict[str, Any]:
    """The answer: ``predictions`` (row format) or ``outputs`` (columnar), one output so unnamed."""
    values = np.asarray(probabilities, np.float32).tolist()
    return {"outputs": values} if columnar else {"predictions": values}
