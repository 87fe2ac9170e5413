"""The About box's text: version, model metadata, library versions."""

from __future__ import annotations

import html
from importlib import metadata as importlib_metadata
from typing import Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion

from .. import __version__
from .verdict_text import verdict_lines

MNIST_CREDIT = "MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0)"
UNIPEN_CREDIT = "UNIPEN train_r01_v07 pen data (Guyon, Schomaker, Plamondon, Liberman, Janet; CC BY 4.0)"


def _dist_version(*names: str) -> str:
    for name in names:
        try:
            return importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return "not installed"


def about_text(predictor: Any) -> str:
    """Rich text for the About box (library versions read without importing TensorFlow)."""
    lines = [
        f"<h3>Digitscope {html.escape(__version__)}</h3>",
        "<p>Draw a digit and watch a convolutional network read it, live.</p>",
    ]
    if predictor is not None:
        meta = predictor.metadata
        lines.append(f"<p><b>Model:</b> {html.escape(str(predictor.path))}<br>")
        if "test_accuracy" in meta:
            lines.append(f"MNIST test accuracy: {100 * meta['test_accuracy']:.2f}%<br>")
        for key, label in (("epochs", "Epochs"), ("date", "Trained"), ("command", "Command")):
            if key in meta:
                lines.append(f"{label}: {html.escape(str(meta[key]))}<br>")
        lines.append("</p>")
        # is the drawing a digit at all? what judges it, and where that comes from
        lines.append(
            "<p><b>Is it a digit at all?</b><br>"
            + "<br>".join(html.escape(line, quote=False) for line in verdict_lines(predictor))
            + "</p>"
        )
    else:
        lines.append("<p>No model loaded yet.</p>")
    lines.append(
        "<p>TensorFlow {tf} · Keras {keras} · Qt {qt} · PySide6 {pyside} · NumPy {np}</p>".format(
            tf=_dist_version("tensorflow-cpu", "tensorflow"),
            keras=_dist_version("keras"),
            qt=qVersion(),
            pyside=pyside_version,
            np=_dist_version("numpy"),
        )
    )
    if predictor is None:
        credits = data_credits({}, {})
    else:
        credits = data_credits(predictor.metadata, predictor.verdict.info if predictor.verdict else {})
    lines.append(f"<p>{html.escape(credits)}</p>")
    return "\n".join(lines)



def data_credits(meta: dict[str, Any], verdict_info: dict[str, Any]) -> str:
    """Whose data the model and the verdict in use learnt from: MNIST always, UNIPEN when the
    model's metadata or the verdict's records pen drawings or letters."""
    pen = meta.get("pen_data") or verdict_info.get("pen_data") or verdict_info.get("letters_file")
    return "Trained on " + (f"{MNIST_CREDIT} and {UNIPEN_CREDIT}." if pen else f"{MNIST_CREDIT}.")
