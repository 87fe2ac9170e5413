"""Accuracy on real pen-written digits through the drawing pipeline.

    python benchmarks/unipen_accuracy.py [--model FILE] [--data ../shared/data/unipen-dev.jsonl]

Each unipen-dev drawing goes through exactly what the app and `digitscope
predict` do: drawing → 28×28 tensor → model. Prints overall and per-class
accuracy, per collection site, the confusion matrix and the worst confusions.

The bundled model is trained on these drawings (all five sites), so its figure
here says nothing about the next writer: ``leave_one_site_out.py`` measures
that. This script is for models that never saw the set, and for checking that
a model read what it was trained on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from digitscope.model.drawing import Drawing
from digitscope.model.evaluation import evaluate_labels
from digitscope.model.inference import load_predictor
from digitscope.model.modelfile import bundled_model_path
from digitscope.model.preprocess import drawing_to_tensor

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "unipen-dev.jsonl"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(bundled_model_path()))
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    args = ap.parse_args()
    if not Path(args.data).is_file():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    predictor = load_predictor(args.model)
    started = time.perf_counter()
    tensors = np.stack([drawing_to_tensor(Drawing.from_json(r)) for r in rows])
    prep = time.perf_counter() - started
    predicted = predictor.probabilities(tensors).argmax(axis=1)
    labels = np.array([r["label"] for r in rows])
    result = evaluate_labels(labels, predicted)
    print(f"model: {args.model}")
    print(f"data: {args.data} ({len(rows)} drawings, preprocessing {1000 * prep / len(rows):.2f} ms each)")
    print(result.report("unipen-dev"))
    by_site: dict[str, list[bool]] = defaultdict(list)
    for r, p in zip(rows, predicted):
        by_site[r.get("site", "?")].append(bool(p == r["label"]))
    print("per site: " + ", ".join(f"{s}: {100 * np.mean(v):.2f}% of {len(v)}" for s, v in sorted(by_site.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
