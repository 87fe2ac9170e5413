"""Progress reporters for training: human text or JSON lines."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TextIO


class JsonProgress:
    """One JSON object per event, flushed at once (for the GUI and other tools)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: dict[str, Any]) -> None:
        self.stream.write(json.dumps(event) + "\n")
        self.stream.flush()


class HumanProgress:
    """Readable progress: a live batch line on a terminal, one line per epoch."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.epochs = 0
        self.started = time.perf_counter()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "start":
            self.epochs = event["epochs"]
            self.started = time.perf_counter()
            self._line(
                f"training on {event['train_samples']} images ({event['val_samples']} held out), "
                f"{self.epochs} epochs of {event['steps_per_epoch']} batches"
            )
        elif kind == "batch":
            if not self.live:  # a log file gets epoch lines only
                return
            self.stream.write(
                f"\repoch {event['epoch']}/{self.epochs}  batch {event['batch']}/{event['steps']}"
                f"  loss {event['loss']:.4f}  accuracy {100 * event['accuracy']:.2f}%   "
            )
            self.stream.flush()
        elif kind == "epoch":
            val = ""
            if event.get("val_accuracy") is not None:
                val = f"  val_loss {event['val_loss']:.4f}  val_accuracy {100 * event['val_accuracy']:.2f}%"
            self._line(
                f"epoch {event['epoch']}/{self.epochs}  loss {event['loss']:.4f}  "
                f"accuracy {100 * event['accuracy']:.2f}%{val}  ({event['seconds']:.0f} s)"
            )
        elif kind == "evaluated":
            self._line(f"MNIST test accuracy {100 * event['test_accuracy']:.2f}%")
        elif kind == "saved":
            self._line(f"saved {event['path']} (and {event['metadata']}) after {time.perf_counter() - self.started:.0f} s")
        elif kind == "drawings":
            skipped = event["skipped"]
            note = f"; skipped {len(skipped)} unreadable: " + ", ".join(Path(s["path"]).name for s in skipped) if skipped else ""
            self._line(f"my drawings: {event['trained']} to train on (weight {event['weight']:g}), {event['held_out']} held out{note}")
        elif kind == "pen_data":
            left = f", {event['left_out']} left out" if event.get("left_out") else ""
            self._line(
                f"pen data: {event['drawings']} drawings of {', '.join(event['sites'])}{left}, "
                f"{event['images']} renders ({event['copies']} each)"
            )
        elif kind == "synthesised":
            self._line(f"synthesised {event['images']} digits in the regional writing variants")
        elif kind == "teachers":
            names = ", ".join(Path(m["file"]).name for m in event["models"])
            self._line(f"distilling {names}: their reading is {event['distill']:g} of each MNIST image's target")
        elif kind == "held_out_site":
            self._line(f"left-out site {event['site']}: {100 * event['accuracy']:.2f}% of {event['samples']}")
        elif kind == "compared":
            for name, figures in event["models"].items():
                parts = [f"{data}: {100 * f['accuracy']:.2f}% of {f['samples']}" for data, f in figures.items()]
                self._line(f"{name} model  " + "  ".join(parts))
        elif kind == "verdict":
            flagged = event.get("flagged") or {}
            shares = ", ".join(f"{100 * v:.1f}% of {k}" for k, v in flagged.items())
            self._line(f"verdict: {event['note']}" + (f"; it flags {shares} as no digit" if shares else ""))
        elif kind == "weights":  # kernels and feature maps, for a GUI to draw: nothing to print
            return
        elif kind == "cancelled":
            self._line("training cancelled; nothing was written")
        elif kind == "error":
            self._line(f"training failed: {event['message']}")
        else:
            self._line(json.dumps(event))

    def _line(self, text: str) -> None:
        prefix = "\r\x1b[K" if self.live else ""
        self.stream.write(prefix + text + "\n")
        self.stream.flush()
