"""What the ``weights`` events ("watch it learn") add to the ``digitscope train`` JSON stream.

    python benchmarks/weights_stream.py [--interval 0.5] [--limit 2000] [--epochs 2] [--mnist FILE] [--json FILE]

Two real runs of ``python -m digitscope train --progress json`` (the CNN from scratch,
``--augment off``, the first ``--limit`` MNIST images), one after the other: one with
``--weights-interval`` (default 0.5 s), one with ``--weights-interval 0`` (the stream
without them). The stdout stream is read line by line as the app reads it; for each run:
events and bytes per second over training (from the ``start`` event to the last event
before ``evaluated``), of the ``weights`` events and of all, one weights event's mean and
largest size, the time to read one back (``json.loads`` + ``LearningFrame.from_event``,
the GUI's side), training seconds (the epochs' own) and wall time. Needs MNIST at
../shared/data/mnist.npz (or ``--mnist``); without it, it says so and exits 0. On a
shared machine the two runs' seconds differ by noise as well: compare them over a few runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def one_run(mnist: Path, interval: float, limit: int, epochs: int, out: Path) -> dict:
    """A ``digitscope train`` run; each stdout line's event, size in bytes and arrival time."""
    cmd = [sys.executable, "-m", "digitscope", "train", "--progress", "json", "--mnist", str(mnist),
           "--limit", str(limit), "--epochs", str(epochs), "--augment", "off", "--weights-interval", f"{interval:g}",
           "--output", str(out)]
    print("$ digitscope", " ".join(cmd[3:]), flush=True)
    lines: list[tuple[float, int, dict]] = []
    started = time.perf_counter()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append((time.perf_counter() - started, len(raw), json.loads(raw)))
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"the run failed (exit {proc.returncode}):\n{stderr[-2000:]}")
    return {"interval": interval, "wall": wall, "lines": lines}


def figures(run: dict) -> dict:
    from digitscope.model.learning_frames import LearningFrame

    lines = run["lines"]
    kinds = [event["event"] for _, _, event in lines]
    first = kinds.index("start")
    last = kinds.index("evaluated") - 1
    span = lines[last][0] - lines[first][0]
    during = lines[first : last + 1]
    weights = [(size, event) for _, size, event in during if event["event"] == "weights"]
    sizes = [size for size, _ in weights]
    read_ms = []
    for _, event in weights:
        text = json.dumps(event)
        t = time.perf_counter()
        LearningFrame.from_event(json.loads(text))
        read_ms.append(1000 * (time.perf_counter() - t))
    all_bytes = sum(size for _, size, _ in during)
    return {
        "interval": run["interval"],
        "wall_seconds": round(run["wall"], 2),
        "training_seconds": round(sum(e["seconds"] for _, _, e in lines if e["event"] == "epoch"), 2),
        "stream_seconds": round(span, 2),
        "events": len(during),
        "events_per_second": round(len(during) / span, 2),
        "bytes_per_second": round(all_bytes / span),
        "weights_events": len(weights),
        "weights_events_per_second": round(len(weights) / span, 2),
        "weights_bytes_per_second": round(sum(sizes) / span),
        "weights_event_mean_bytes": round(statistics.mean(sizes)) if sizes else None,
        "weights_event_max_bytes": max(sizes) if sizes else None,
        "weights_event_read_ms": round(statistics.mean(read_ms), 2) if read_ms else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=0.5, help="--weights-interval of the first run (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--mnist", type=Path, default=DATA / "mnist.npz")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    args = ap.parse_args()
    if not args.mnist.is_file():
        print(f"skipped: needs MNIST at {args.mnist} (not present on this machine)")
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="digitscope-weights-stream-") as tmp:
        for interval in (args.interval, 0.0):
            results.append(figures(one_run(args.mnist, interval, args.limit, args.epochs, Path(tmp) / f"m{interval:g}.keras")))
    print(f"\nCNN from scratch, {args.limit:,} MNIST images, {args.epochs} epochs, --augment off\n")
    rows = [
        ("--weights-interval", lambda r: f"{r['interval']:g} s"),
        ("wall time of the run", lambda r: f"{r['wall_seconds']:.1f} s"),
        ("training (the epochs' seconds)", lambda r: f"{r['training_seconds']:.1f} s"),
        ("stream: start → last event before evaluated", lambda r: f"{r['stream_seconds']:.1f} s"),
        ("all events: count, per second", lambda r: f"{r['events']}, {r['events_per_second']:.1f}/s"),
        ("all events: bytes per second", lambda r: f"{r['bytes_per_second'] / 1000:,.1f} KB/s"),
        ("weights events: count, per second", lambda r: f"{r['weights_events']}, {r['weights_events_per_second']:.2f}/s"),
        ("weights events: bytes per second", lambda r: f"{r['weights_bytes_per_second'] / 1000:,.1f} KB/s"),
        ("one weights event: mean / max bytes",
         lambda r: "—" if r["weights_events"] == 0 else f"{r['weights_event_mean_bytes']:,} / {r['weights_event_max_bytes']:,}"),
        ("reading one back (json + LearningFrame)",
         lambda r: "—" if r["weights_event_read_ms"] is None else f"{r['weights_event_read_ms']:.2f} ms"),
    ]
    print(f"| | {' | '.join('with weights' if r['interval'] else 'without' for r in results)} |")
    print("| --- |" + " --- |" * len(results))
    for label, cell in rows:
        print(f"| {label} | {' | '.join(cell(r) for r in results)} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
