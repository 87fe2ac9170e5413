"""One drawing → probabilities + both conv activations: latency, against `model.predict`.

    python benchmarks/inference_speed.py [--model FILE] [--calls 500]

Measured in one run, on the same drawings (real pen drawings from
../shared/data/unipen-dev.jsonl when present, else synthetic strokes):

* digitscope: `drawing_to_tensor` + `Predictor.predict` (NumPy forward pass)
* preprocessing alone, and the forward pass alone
* baseline: `model.predict` on each sample (with the same preprocessing)
* reference: a compiled Keras call returning probabilities and activations
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from digitscope.model.drawing import Drawing
from digitscope.model.inference import Predictor, _keras_multi_output, limit_blas_threads, load_predictor
from digitscope.model.modelfile import bundled_model_path
from digitscope.model.preprocess import drawing_to_tensor

UNIPEN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "unipen-dev.jsonl"


def drawings(n: int) -> list[Drawing]:
    if UNIPEN.is_file():
        rows = [json.loads(line) for line in open(UNIPEN, encoding="utf-8")]
        step = max(1, len(rows) // n)
        return [Drawing.from_json(r) for r in rows[::step][:n]]
    out = []
    for i in range(n):
        pts = [(140 + 60 * math.sin(t / 30 * 6.283 + i), 140 - 90 * math.cos(t / 30 * 6.283)) for t in range(31)]
        out.append(Drawing(280, 280, 19.6, [pts]))
    return out


def timed(fn, items, warmup: int = 20) -> np.ndarray:
    for it in items[:warmup]:
        fn(it)
    times = []
    for it in items:
        t0 = time.perf_counter()
        fn(it)
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1000.0


def row(name: str, ms: np.ndarray, base: float | None = None) -> str:
    p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
    ratio = f"  {base / p95:7.1f}× faster (p95)" if base else ""
    return f"{name:<44} p50 {p50:8.3f} ms   p95 {p95:8.3f} ms{ratio}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(bundled_model_path()))
    ap.add_argument("--calls", type=int, default=500)
    args = ap.parse_args()
    limit_blas_threads()  # as the app and the CLI do
    predictor: Predictor = load_predictor(args.model)
    items = drawings(args.calls)
    tensors = [drawing_to_tensor(d) for d in items]
    model = predictor.model

    def ours(d: Drawing) -> None:
        p = predictor.predict(drawing_to_tensor(d))
        assert p.activations["conv2"].shape == (24, 24, 64)

    def baseline(d: Drawing) -> None:
        model.predict(drawing_to_tensor(d)[None, :, :, None], verbose=0)

    compiled = _keras_multi_output(model)

    def reference(d: Drawing) -> None:
        compiled(drawing_to_tensor(d)[None, :, :, None])

    full = timed(ours, items)
    prep = timed(drawing_to_tensor, items)
    fwd = timed(predictor.predict, tensors)
    base = timed(baseline, items[: min(300, len(items))], warmup=5)
    ref = timed(reference, items)
    base95 = float(np.percentile(base, 95))
    print(f"model: {args.model}; {len(items)} drawings ({'unipen-dev' if UNIPEN.is_file() else 'synthetic'})")
    print(row("digitscope: drawing → probs + activations", full, base95))
    print(row("  preprocessing alone", prep))
    print(row("  NumPy forward pass alone", fwd))
    print(row("compiled Keras call (probs + activations)", ref, base95))
    print(row("baseline: model.predict per sample", base))
    target = float(np.percentile(full, 95))
    print(f"target p95 ≤ 2 ms: {'met' if target <= 2.0 else 'MISSED'} ({target:.3f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
