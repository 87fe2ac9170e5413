"""The app's colours, in one place.

Each is a colour name as Qt, pyqtgraph and style sheets all read it (``QColor(CAPTION)``,
``pg.mkBrush(BLUE)``, ``f"color: {CAPTION};"``); :func:`rgb` gives its red, green and blue
where a tuple is wanted. No Qt here: importing the theme costs nothing.
"""

from __future__ import annotations

# ---------------------------------------------------------------------- light surfaces: windows, dialogs, plots

#: Captions, notes and status lines: a calm grey, not an alarm ("That doesn't look like a digit" too).
CAPTION = "#56606d"
#: The style sheet of a caption label.
CAPTION_STYLE = f"color: {CAPTION};"
#: Plot titles and legend text.
PLOT_TEXT = "#333"
#: The large predicted digit.
DIGIT = "#1f2a37"
#: What digits are drawn on (the canvas, thumbnails, plot backgrounds).
PAPER = "#ffffff"
#: The ink of a drawing, as rendered for the network and exported.
INK = "#000000"
#: The ink on the canvas, as the person draws (a touch softer than black).
CANVAS_INK = "#111111"
#: The canvas's "Draw a digit" hint.
HINT = "#9aa1ab"
#: Thin frames: around the canvas, a thumbnail, a cell of numbers.
FRAME = "#c9ced6"
#: The face of a thumbnail whose file cannot be read.
PLACEHOLDER = "#eceef1"
#: A sentence that says all is well (✓) and one that says something is wrong (✗), errors.
GOOD_TEXT = "#1d7a35"
ERROR = "#b3261e"

#: The app's blue: the answer's bar, training curves, the first model of a comparison, the
#: right answers of a confusion matrix; lighter for the curve of every batch.
BLUE = "#2f7de1"
LIGHT_BLUE = "#9bbcf2"
#: The app's orange: validation curves, the second model of a comparison.
ORANGE = "#e5812f"
#: The wrong answers of a confusion matrix.
RED = "#e53935"
#: The models of a comparison, in turn.
SERIES = (BLUE, ORANGE, "#2e9e57", "#c0392b", "#8e44ad", "#7f8c8d", "#d4a017", "#16a2b8")

#: The probability bars: every digit's, the answer's (BLUE), and those of the model compared
#: with (Model → Compare with model…) and its answer.
BAR = "#9aa7b8"
OTHER_BAR = "#f0a030"
OTHER_TOP_BAR = "#d9730d"
#: Every bar, the top one too, when the drawing is no digit.
NOT_A_DIGIT_BAR = "#d3d7dc"

#: Saliency: ink that argues for the answer, and against it.
FOR = "#ff6e00"
AGAINST = "#1e78ff"

# ---------------------------------------------------------------------- dark surfaces: feature maps, How it reads

DARK_BACKGROUND = "#1b1f24"
DARK_TEXT = "#d5dae1"
DARK_MUTED = "#8b96a5"
DARK_PANEL = "#242a32"
#: The face of an input field on the dark views.
DARK_BASE = "#14171b"
DARK_HIGHLIGHTED_TEXT = "white"
#: Selection and windows: stands out against the inferno maps.
ACCENT = "#4cc9f0"
DARK_BAR = "#5b6676"
DARK_TOP_BAR = OTHER_BAR
#: Pixel grids, opaque (translucent lines cost far more to paint): the input's, a step-through's.
INPUT_GRID = "#3e4550"
STEP_GRID = "#343a44"
#: Positive and negative weights and values; a value that is right.
POSITIVE = "#d64541"
NEGATIVE = "#366ed6"
GOOD = "#6cc070"
#: The brightest cell of a grid of numbers (light text stays readable on it), and one holding 0.
LIGHT_CELL = "#7d8591"
CELL = "#2e3540"


def rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` (or ``"#rgb"``) → (red, green, blue), each 0-255."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    if len(digits) != 6:
        raise ValueError(f"not a #rrggbb colour: {colour!r}")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
