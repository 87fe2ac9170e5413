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

from pathlib import Path
from typing import Any

FORMATS = ("savedmodel",)


def export_savedmodel(model_path: str | Path, out_dir: str | Path) -> Path:
    """Write ``model_path`` as a SavedModel in ``out_dir`` (which must not exist, or be empty).

    Written into a temporary folder beside ``out_dir`` and renamed into place, so an
    interrupted export leaves nothing half-written (and the temporary folder an export
    killed outright left is removed by the next export to ``out_dir``). Files and folders
    get the usual modes under the umask (0644 and 0755 under 022), so a server running as
    another user can read them.
    """
    from .files import check_writable_folder, remove_stale_temps, temp_beside

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} already exists and is not an empty folder: choose a new (version) folder")
    try:
        check_writable_folder(out.parent)
    except OSError as exc:
        raise ValueError(f"cannot write to {out.parent}: {exc.strerror or exc}") from None
    remove_stale_temps(out.parent, out.name)
    from .interrupts import held
    from .modelfile import load_keras_model

    with held():  # calls into TensorFlow: an interrupt waits for each (seconds) and is raised after it
        model = load_keras_model(model_path)
    with temp_beside(out, folder=True) as tmp:  # removed on any exception, Ctrl+C included
        with held():
            _write_savedmodel(model, tmp)
        if out.exists():
            out.rmdir()  # empty, checked above
        tmp.rename(out)
    return out


def _write_savedmodel(model: Any, folder: Path) -> None:
    """The SavedModel with its one signature, written into ``folder``."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(image: Any) -> dict[str, Any]:
        return {"probabilities": model(image, training=False)}

    archive.add_endpoint(
        name="serving_default", fn=serve, input_signature=[tf.TensorSpec(shape=(None, 28, 28, 1), dtype=tf.float32, name="image")]
    )
    archive.write_out(str(folder), verbose=False)
