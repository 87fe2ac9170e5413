"""``digitscope export``: the model in a format other tools serve.

``savedmodel``: a TensorFlow SavedModel for TensorFlow Serving (or
``tf.saved_model.load``), with one signature::

    serving_default(image: float32[batch, 28, 28, 1]) -> {"probabilities": float32[batch, 10]}

``image`` is the preprocessed tensor (ink high on a zero background, in [0, 1]:
what ``digitscope predict`` and the app feed the network); the output is the
softmax. TensorFlow Serving expects ``<base>/<version>/``, e.g.
``digitscope export --format savedmodel models/digitscope/1``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

FORMATS = ("savedmodel",)


def export_savedmodel(model_path: str | Path, out_dir: str | Path) -> Path:
    """Write ``model_path`` as a SavedModel in ``out_dir`` (which must not exist, or be empty).

    Written into a temporary folder beside ``out_dir`` and renamed into place, so an
    interrupted export leaves nothing half-written.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} already exists and is not an empty folder: choose a new (version) folder")
    from .modelfile import load_keras_model

    model = load_keras_model(model_path)
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(image: Any) -> dict[str, Any]:
        return {"probabilities": model(image, training=False)}

    archive.add_endpoint(
        name="serving_default", fn=serve, input_signature=[tf.TensorSpec(shape=(None, 28, 28, 1), dtype=tf.float32, name="image")]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        archive.write_out(str(tmp), verbose=False)
        if out.exists():
            out.rmdir()  # empty, checked above
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
