"""Pen paths made of simple curves: elliptical arcs, polylines and cubic Béziers.

Each returns an (n, 2) float array of points, x to the right and y down (screen
coordinates), in whatever unit the caller draws in.
"""

from __future__ import annotations

import numpy as np

Point = tuple[float, float]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 40) -> np.ndarray:
    """Points of an elliptical arc; angles in degrees, 0 = right, 90 = down (so a rising angle turns clockwise)."""
    t = np.radians(np.linspace(start, stop, n))
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])


def polyline(*points: Point, n: int = 12) -> np.ndarray:
    """A polyline through ``points``, with ``n`` points per segment."""
    segs = [np.linspace(a, b, n, endpoint=False) for a, b in zip(points, points[1:])]
    return np.vstack([*segs, np.asarray(points[-1:], dtype=float)])


def bezier(p0: Point, p1: Point, p2: Point, p3: Point, n: int = 24) -> np.ndarray:
    """A cubic Bézier from ``p0`` to ``p3`` with control points ``p1`` and ``p2``."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    a, b, c, d = (np.asarray(p, dtype=float) for p in (p0, p1, p2, p3))
    return (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t**2 * c + t**3 * d


def joined(*parts: np.ndarray) -> np.ndarray:
    """Pieces drawn without lifting the pen, as one path (a repeated joint point is dropped)."""
    out = [parts[0]]
    for part in parts[1:]:
        out.append(part[1:] if np.allclose(part[0], out[-1][-1]) else part)
    return np.vstack(out)
