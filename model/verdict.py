"""Is it a digit at all? A verdict on every reading, from what the CNN computed anyway.

The CNN has ten softmax outputs and no "none of these": shown an H, an x or a
scribble it still answers, often 99 % sure. Its confidence cannot tell (a
softmax threshold flags few letters and already real digits), but the 128
activations of its dense layer can: digits of each class gather in a region of
that space, and a letter or a smiley lands away from all ten. The verdict
measures how far, and flags a drawing farther than a threshold.

Scores (higher = less like a digit), each from the dense activations ``h``
(N, 128) and/or the logits (N, 10) of the same forward pass:

- ``"max_softmax"``: 1 - the top probability (the baseline that fails);
- ``"energy"``: -logsumexp(logits) (energy-based out-of-distribution score);
- ``"mahalanobis"``: the squared Mahalanobis distance of ``h`` to the nearest class mean,
  with one covariance shared by the ten classes (shrunk towards its diagonal);
- ``"network"``: the logit of :mod:`.digit_detector`'s small network, trained for this
  question alone on the 28×28 input (the bundled model's verdict: chosen by
  leave-one-site-out, ``benchmarks/not_a_digit.py``; it does not depend on the CNN's weights);
- ``"detector"``: the logit of a logistic regression on ``h``, the logits, the Mahalanobis
  distance and the pooled conv features averaged to 3×3×64 (:func:`pool3`), trained on digits
  against non-digits (letters that look like no digit, scribbles), each side weighted equally.

The threshold is chosen on digits only (:func:`threshold_for`): the score that flags a
given share of them; for the detectors, of digits held out of their fit (they would otherwise
learn their own training digits by heart and the threshold would be too tight). Parameters are
arrays, base64 in JSON (:meth:`Verdict.to_json`), saved in the model's metadata. NumPy only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .digit_detector import DetectorWeights, detector_logits
from .inference import CnnWeights, cnn_activations_batch

KINDS = ("max_softmax", "energy", "mahalanobis", "detector", "network")
#: The largest array a verdict may hold (a hostile metadata file is bounded by its size already).
MAX_ARRAY_VALUES = 2_000_000
#: The verdict's format in the metadata: bump when the parameters change meaning.
VERSION = 1


def pool3(pool: np.ndarray) -> np.ndarray:
    """Pooled conv activations (N, 12, 12, 64) (or one (12, 12, 64)) averaged over 4×4 blocks → (N, 576)."""
    p = np.asarray(pool, np.float32).reshape(-1, 3, 4, 3, 4, 64)
    return p.mean(axis=(2, 4)).reshape(len(p), -1)


def features(w: CnnWeights, images: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images (N, 28, 28) → (:func:`pool3` (N, 576), dense activations (N, 128), logits (N, 10))
    float32, by :func:`.inference.cnn_activations_batch`."""
    images = np.asarray(images, np.float32).reshape(-1, 28, 28)
    ps, hs, zs = [], [], []
    for i in range(0, len(images), batch_size):
        pooled, h, z = cnn_activations_batch(w, images[i : i + batch_size])
        ps.append(pool3(pooled))
        hs.append(h)
        zs.append(z)
    if not hs:
        return np.zeros((0, 576), np.float32), np.zeros((0, w.w3.shape[1]), np.float32), np.zeros((0, 10), np.float32)
    return np.concatenate(ps), np.concatenate(hs).astype(np.float32), np.concatenate(zs).astype(np.float32)


def prediction_features(w: CnnWeights, activations: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The verdict's inputs for one reading from :func:`.inference.cnn_forward`'s activations
    ("pool", "dense"): (pool3 (1, 576), dense (1, 128), logits (1, 10))."""
    h = np.asarray(activations["dense"], np.float32)[None]
    return pool3(activations["pool"]), h, h @ w.w4 + w.b4


def _logsumexp(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))[..., 0]


def _2d(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a[None] if a.ndim == 1 else a


@dataclass
class Verdict:
    """A fitted "is it a digit?" rule: a score of kind ``kind`` and the ``threshold`` above which
    a drawing is no digit. ``params`` holds NumPy arrays (lists in JSON)."""

    kind: str
    threshold: float = float("inf")
    params: dict[str, np.ndarray] = field(default_factory=dict)
    #: How it was fitted (data, counts, target share): shown in About, never used to score.
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown verdict kind {self.kind!r} (known: {', '.join(KINDS)})")
        self.params = {k: np.asarray(v, np.float32 if self.kind == "network" else np.float64) for k, v in self.params.items()}
        #: The network of the ``"network"`` kind (ValueError at once if its arrays do not fit).
        self.network = DetectorWeights.from_arrays(self.params) if self.kind == "network" else None

    @property
    def needs_features(self) -> bool:
        """Whether scoring needs the CNN's features (pool3, dense, logits), not only the image."""
        return self.kind != "network"

    # -------------------------------------------------------------- scoring

    def mahalanobis(self, dense: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance (N,) of dense activations (N, 128) to the nearest class mean."""
        p = self.params
        y = _2d(dense) @ p["whiten"]  # (N, 128): whitened, so distances are Euclidean
        d = (y * y).sum(1)[:, None] - 2.0 * y @ p["white_means"].T + p["white_norms"][None]
        return np.maximum(d.min(axis=1), 0.0)

    def score(self, pool: np.ndarray | None, dense: np.ndarray | None, logits: np.ndarray | None,
              images: np.ndarray | None = None) -> np.ndarray:
        """How little the drawings look like digits, (N,); above :attr:`threshold` means no digit.
        ``pool`` is :func:`pool3`'s (N, 576) (only the detector uses it); ``images`` (N, 28, 28)
        the network's input (only it uses them, and nothing else)."""
        if self.network is not None:
            if images is None:
                raise ValueError("the network verdict needs the images")
            return detector_logits(self.network, images)
        if dense is None or logits is None:
            raise ValueError(f"the {self.kind} verdict needs the CNN's features")
        z = _2d(logits)
        if self.kind == "max_softmax":
            return 1.0 - np.exp(z.max(1) - _logsumexp(z))
        if self.kind == "energy":
            return -_logsumexp(z)
        m = self.mahalanobis(dense)
        if self.kind == "mahalanobis":
            return m
        if pool is None:
            raise ValueError("the detector needs the pooled features (pool3)")
        x = _detector_inputs(_2d(pool), _2d(dense), z, m, self.params)
        return x @ self.params["coef"] + float(self.params["intercept"])

    def is_digit(self, pool: np.ndarray | None, dense: np.ndarray | None, logits: np.ndarray | None,
                 images: np.ndarray | None = None) -> np.ndarray:
        """True (N,) where the score is within the threshold."""
        return self.score(pool, dense, logits, images) <= self.threshold

    def judge(self, image: np.ndarray, activations: dict[str, np.ndarray] | None = None, weights: CnnWeights | None = None) -> float:
        """One reading's score, from its (28, 28) input and, for the kinds that need them, the
        CNN's weights and :func:`.inference.cnn_forward`'s activations (ValueError without)."""
        if self.network is not None:
            return float(self.score(None, None, None, np.asarray(image, np.float32)[None])[0])
        if activations is None or weights is None or "pool" not in activations or "dense" not in activations:
            raise ValueError(f"the {self.kind} verdict needs the CNN's activations")
        return float(self.score(*prediction_features(weights, activations))[0])

    # -------------------------------------------------------------- file

    def to_json(self) -> dict[str, Any]:
        """The verdict as JSON-ready values (for the model's metadata)."""
        return {
            "version": VERSION,
            "kind": self.kind,
            "threshold": float(self.threshold),
            "params": {k: _encode(v) for k, v in self.params.items()},
            "info": self.info,
        }

    @classmethod
    def from_json(cls, doc: Any) -> Verdict:
        """A verdict read back from :meth:`to_json`'s output; ValueError if it is not one."""
        if not isinstance(doc, dict) or doc.get("version") != VERSION or not isinstance(doc.get("params"), dict):
            raise ValueError("not a digitscope verdict (version %r)" % (doc.get("version") if isinstance(doc, dict) else None))
        try:
            params = {str(k): _decode(a) for k, a in doc["params"].items()}
            v = cls(str(doc["kind"]), float(doc["threshold"]), params, dict(doc.get("info") or {}))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a digitscope verdict: {exc}") from None
        if not np.isfinite(v.threshold):
            raise ValueError("the verdict's threshold is not a finite number")
        need = {
            "mahalanobis": ("whiten", "white_means", "white_norms"),
            "detector": ("whiten", "white_means", "white_norms", "coef", "intercept", "mu", "sd"),
        }
        missing = [k for k in need.get(v.kind, ()) if k not in v.params]
        if missing:
            raise ValueError(f"verdict {v.kind} lacks {', '.join(missing)}")
        return v


def _encode(a: np.ndarray) -> dict[str, Any]:
    """An array as JSON: its dtype, shape and bytes (little-endian) in base64."""
    a = np.asarray(a, a.dtype.newbyteorder("<"))  # tobytes() is C order; ascontiguousarray would make a 0-d array 1-d
    return {"dtype": a.dtype.name, "shape": list(a.shape), "base64": base64.b64encode(a.tobytes()).decode("ascii")}


def _decode(doc: Any) -> np.ndarray:
    """The inverse of :func:`_encode` (also takes plain lists); ValueError if it is no such array."""
    if not isinstance(doc, dict):
        a = np.asarray(doc, np.float64)
    else:
        dtype = {"float32": "<f4", "float64": "<f8"}.get(str(doc.get("dtype")))
        shape = doc.get("shape")
        if dtype is None or not isinstance(shape, list) or not all(isinstance(n, int) and 0 <= n <= MAX_ARRAY_VALUES for n in shape):
            raise ValueError("a verdict array needs a float dtype and a shape")
        if int(np.prod(shape, dtype=np.int64)) > MAX_ARRAY_VALUES:
            raise ValueError(f"a verdict array of shape {shape} is too large")
        try:
            raw = base64.b64decode(str(doc.get("base64", "")), validate=True)
        except ValueError:
            raise ValueError("a verdict array's data is not base64") from None
        a = np.frombuffer(raw, dtype).reshape(shape) if len(raw) == np.dtype(dtype).itemsize * int(np.prod(shape, dtype=np.int64)) else None
        if a is None:
            raise ValueError(f"a verdict array's data does not fill its shape {shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("a verdict array holds NaN or infinity")
    return a


def _detector_inputs(pool: np.ndarray, dense: np.ndarray, logits: np.ndarray, maha: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """The detector's standardised inputs: dense activations, logits, log Mahalanobis distance, pool3."""
    raw = np.hstack([dense, logits, np.log1p(maha)[:, None], pool])
    return (raw - p["mu"]) / p["sd"]


# ------------------------------------------------------------------ fitting


def _gaussian_params(dense: np.ndarray, labels: np.ndarray, shrinkage: float) -> dict[str, np.ndarray]:
    """Class means and one shared covariance, as a whitening matrix and whitened means."""
    h = np.asarray(dense, np.float64)
    classes = np.arange(10)
    means = np.stack([h[labels == c].mean(0) for c in classes])
    centred = h - means[labels]
    cov = centred.T @ centred / len(h)
    diag = np.diag(np.diag(cov)) + 1e-6 * np.eye(len(cov)) * max(float(np.mean(np.diag(cov))), 1e-12)
    cov = (1.0 - shrinkage) * cov + shrinkage * diag
    vals, vecs = np.linalg.eigh(cov)
    whiten = vecs / np.sqrt(np.maximum(vals, 1e-12))  # (128, 128): h @ whiten has identity covariance
    white_means = means @ whiten
    return {"whiten": whiten, "white_means": white_means, "white_norms": (white_means**2).sum(1)}


def _logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float, iters: int = 30) -> tuple[np.ndarray, float]:
    """Weighted L2-regularised logistic regression by Newton's method: (coef, intercept)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -40, 40)))
        grad = xb.T @ (weight * (p - y)) + reg @ beta
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-6:
            break
    return beta[:-1], float(beta[-1])


def threshold_for(scores: np.ndarray, flag_share: float) -> float:
    """The score above which ``flag_share`` of ``scores`` (digits) lie."""
    return float(np.quantile(np.asarray(scores, np.float64), 1.0 - flag_share))


Features = tuple[np.ndarray, np.ndarray, np.ndarray]  # (pool3, dense, logits), as :func:`features`


def _cat(sets: list[Features]) -> Features:
    return tuple(np.vstack([s[k] for s in sets]) for k in range(3))  # type: ignore[return-value]  # tuple(generator) is not typed as a 3-tuple


def fit(
    kind: str,
    digits: list[tuple[Features, np.ndarray]],
    others: list[Features] | None = None,
    flag_share: float = 0.005,
    holdout: float = 0.3,
    shrinkage: float = 0.1,
    l2: float = 30.0,
    seed: int = 0,
    info: dict[str, Any] | None = None,
) -> Verdict:
    """Fit a verdict of ``kind`` on the CNN's :func:`features` of labelled digits (a list of
    sources, each (features, labels), e.g. MNIST and pen digits) and, for ``"detector"``, of
    non-digit sources. Each source counts equally in the detector's fit. The threshold flags at
    most ``flag_share`` of every digit source; for the detector it is set on a ``holdout``
    share of each digit source kept out of the fit."""
    rng = np.random.default_rng(seed)
    fit_sets, calib = [], []
    for feats, labels in digits:
        keep = rng.random(len(labels)) >= holdout if kind == "detector" else np.ones(len(labels), bool)
        fit_sets.append((tuple(f[keep] for f in feats), np.asarray(labels)[keep]))
        calib.append(tuple(f[~keep] for f in feats) if kind == "detector" else feats)
    pool, dense, logits = _cat([f for f, _ in fit_sets])
    labels = np.concatenate([lab for _, lab in fit_sets]).astype(np.int64)
    params: dict[str, np.ndarray] = {}
    if kind in ("mahalanobis", "detector"):
        params.update(_gaussian_params(dense, labels, shrinkage))
    verdict = Verdict(kind, float("inf"), params, dict(info or {}))
    if kind == "detector":
        if not others:
            raise ValueError("the detector needs non-digit examples")
        sources = [f for f, _ in fit_sets] + list(others)
        side = np.r_[np.zeros(len(fit_sets)), np.ones(len(others))]
        op, od, oz = _cat(list(others))
        allp, alld, allz = np.vstack([pool, op]), np.vstack([dense, od]).astype(np.float64), np.vstack([logits, oz]).astype(np.float64)
        raw = np.hstack([alld, allz, np.log1p(verdict.mahalanobis(alld))[:, None], allp])
        verdict.params["mu"], verdict.params["sd"] = raw.mean(0), raw.std(0) + 1e-6
        x = (raw - verdict.params["mu"]) / verdict.params["sd"]
        sizes = np.array([len(s[1]) for s in sources])
        n_side = np.array([(side == k).sum() for k in (0, 1)])
        weight = np.concatenate([np.full(n, 0.5 / n_side[int(k)] / n) for n, k in zip(sizes, side)]) * len(x)
        y = np.concatenate([np.full(n, k) for n, k in zip(sizes, side)])
        coef, intercept = _logistic(x, y, weight, l2)
        verdict.params["coef"], verdict.params["intercept"] = coef, np.asarray(intercept)
    verdict.threshold = max(threshold_for(verdict.score(*c), flag_share) for c in calib if len(c[1]))
    verdict.info.update(flag_share=flag_share, holdout=holdout if kind == "detector" else 0.0,
                        digits=[int(len(lab)) for _, lab in digits], others=[int(len(o[1])) for o in others or []])
    return verdict


def network_verdict(
    network: DetectorWeights, digits: list[np.ndarray], flag_share: float = 0.005, info: dict[str, Any] | None = None
) -> Verdict:
    """A ``"network"`` verdict whose threshold flags at most ``flag_share`` of each source of
    digit images (N, 28, 28) (digits the network was not trained on)."""
    verdict = Verdict("network", float("inf"), network.arrays(), dict(info or {}))
    sources = [np.asarray(d, np.float32).reshape(-1, 28, 28) for d in digits if len(d)]
    if not sources:
        raise ValueError("a verdict's threshold needs digits to be set on")
    verdict.threshold = max(threshold_for(verdict.score(None, None, None, d), flag_share) for d in sources)
    verdict.info.update(flag_share=flag_share, calibration_digits=[int(len(d)) for d in sources])
    return verdict


def model_verdict(model_path: Any, metadata: dict[str, Any]) -> tuple[Verdict | None, str]:
    """The verdict a model reads with, and where it comes from (or why there is none).

    A model's own verdict is in its metadata (``"verdict"``). A model without one (trained
    before verdicts, or by another tool) reads with the bundled model's, when that one is a
    ``"network"`` verdict: it judges the input image alone, so it fits any model."""
    from pathlib import Path

    from .modelfile import bundled_model_path, read_metadata

    doc = metadata.get("verdict") if isinstance(metadata, dict) else None
    if doc is not None:
        try:
            return Verdict.from_json(doc), "its own"
        except ValueError as exc:
            return None, f"its verdict cannot be read ({exc})"
    bundled = bundled_model_path()
    try:
        same = Path(model_path).resolve() == bundled.resolve()
    except OSError:
        same = False
    if not same:
        try:
            verdict = Verdict.from_json(read_metadata(bundled).get("verdict"))
        except ValueError:
            verdict = None
        if verdict is not None and not verdict.needs_features:
            return verdict, "the bundled model's (this model has none of its own)"
    return None, "none: this model has no verdict"
