"""The words for the verdict "is this a digit at all?", in one place (Qt-free).

A reading's :class:`..model.inference.Prediction` carries ``is_digit`` (None: the model has no
verdict, and the reading is shown as a digit, as before verdicts). The network's best guess
(``digit``, ``confidence``) is always there: softmax has to share 100 % among the ten digits.
"""

from __future__ import annotations

from typing import Any

#: What the window says in place of the big digit when the verdict is "not a digit".
NOT_A_DIGIT = "That doesn't look like a digit"


def looks_like_digit(is_digit: bool | None) -> bool:
    """Whether to show a reading as a digit: only a verdict of "no" (False) says otherwise."""
    return is_digit is not False


def percent(p: float) -> str:
    """A probability as a whole percentage ("97%")."""
    return f"{100 * float(p):.0f}%"


def best_guess(digit: int, confidence: float) -> str:
    """The network's pick, small, under :data:`NOT_A_DIGIT`."""
    return f"best guess {digit} · {percent(confidence)}"


def reading_sentence(prediction: Any) -> str:
    """One sentence for a reading's answer (View → How it reads your digit)."""
    digit, p = prediction.digit, percent(prediction.confidence)
    if not looks_like_digit(prediction.is_digit):
        return f"{NOT_A_DIGIT}: the network still picks {digit} ({p}), as it must pick one of ten."
    if prediction.is_digit is None:
        return f"The network reads a {digit} ({p})."
    return f"The network reads a {digit} ({p}), and it looks like a digit."


def verdict_lines(predictor: Any) -> list[str]:
    """The verdict a model reads with, for About: its kind and threshold, where it comes from,
    and the figures it was made with (plain text, one item a line)."""
    verdict = getattr(predictor, "verdict", None)
    note = str(getattr(predictor, "verdict_note", "") or "")
    if verdict is None:
        why = note.removeprefix("none").lstrip(": ")
        return [f"Verdict: none ({why})" if why else "Verdict: none"]
    info = verdict.info if isinstance(getattr(verdict, "info", None), dict) else {}
    lines = [f"Verdict: {verdict.kind}, threshold {float(verdict.threshold):.3g}" + (f" ({note})" if note else "")]
    flagged = info.get("flagged")
    if isinstance(flagged, dict) and flagged:
        shares = [f"{name} {_share(value)}" for name, value in flagged.items() if _number(value)]
        if shares:
            lines.append("Flagged as no digit: " + ", ".join(shares))
    trained = info.get("trained_on")
    if isinstance(trained, dict) and trained:
        counts = [f"{name} {_count(value)}" for name, value in trained.items()]
        lines.append("Trained on: " + ", ".join(counts))
    elif _number(trained):
        lines.append(f"Trained on {_count(trained)} drawings")
    calibration = info.get("calibration_digits")
    on = ""
    if isinstance(calibration, list) and calibration and all(_number(n) for n in calibration):
        on = f" of {' + '.join(_count(n) for n in calibration)} digits held out"
    if _number(info.get("flag_share")):
        lines.append(f"Threshold: flags {_share(info['flag_share'])}{on or ' of digits'}")
    elif on:
        lines.append(f"Threshold set on{on.removeprefix(' of')}")
    return lines


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _share(value: float) -> str:
    """A share (0…1) as a percentage, with a decimal below 10 %."""
    v = 100 * float(value)
    return f"{v:.1f}%" if abs(v) < 10 else f"{v:.0f}%"


def _count(value: Any) -> str:
    return f"{int(value):,}" if _number(value) else str(value)
