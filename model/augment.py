"""Training augmentation that makes MNIST scans look more like drawn digits.

Per sample: a random affine warp about the centre (rotation, slant, scale,
aspect, shift), optionally an elastic distortion (a smooth random displacement field,
Simard et al. 2003), and a random stroke weight (thinner or bolder, by blending
with a grey-scale dilation, or fading the stroke edges). Runs as TensorFlow ops on whole
batches inside ``tf.data``, seeded statelessly so a run is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random changes (uniform in ±range unless noted)."""

    #: Share of the images changed at all; the rest are seen as they are.
    probability: float = 0.85
    rotation_deg: float = 10.0
    shear: float = 0.2
    scale_low: float = 0.88
    scale_high: float = 1.1
    aspect: float = 0.08
    shift_px: float = 2.0
    #: Stroke weight in [thin_low, bold_high]: < 0 thinner, > 0 bolder.
    thin_low: float = -0.6
    bold_high: float = 0.3
    #: Elastic distortion: RMS displacement per axis in pixels (0: none), and the
    #: Gaussian smoothing of the displacement field in pixels (larger: smoother).
    elastic_px: float = 0.0
    elastic_sigma: float = 4.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


#: Named recipes for ``digitscope train --augment``: "drawn" makes MNIST look like
#: drawn digits (the default); "elastic" adds a smooth wobble of the hand to "drawn";
#: "mild" only jitters position, size and angle a little.
PRESETS = {
    "drawn": AugmentConfig(),
    "elastic": AugmentConfig(elastic_px=1.0),
    "mild": AugmentConfig(
        probability=0.5, rotation_deg=6.0, shear=0.08, scale_low=0.95, scale_high=1.05,
        aspect=0.04, shift_px=1.5, thin_low=0.0, bold_high=0.0,
    ),
}
#: The presets that make MNIST look drawn, and so also slash some zeros and flag some ones (:mod:`.styles`).
WITH_STYLE_VARIANTS = frozenset({"drawn", "elastic"})


def augment_batch(images: Any, seed: Any, cfg: AugmentConfig = AugmentConfig()) -> Any:
    """Augment a float32 batch (N, 28, 28, 1); ``seed`` is a shape-(2,) int tensor."""
    import tensorflow as tf

    n = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=8)

    def uniform(i: int, low: float, high: float) -> tf.Tensor:
        return tf.random.stateless_uniform([n], seed=seeds[i], minval=low, maxval=high)

    angle = uniform(0, -cfg.rotation_deg, cfg.rotation_deg) * (math.pi / 180.0)
    shear = uniform(1, -cfg.shear, cfg.shear)
    scale = uniform(2, cfg.scale_low, cfg.scale_high)
    aspect = uniform(3, 1.0 - cfg.aspect, 1.0 + cfg.aspect)
    tx = uniform(4, -cfg.shift_px, cfg.shift_px)
    ty = uniform(5, -cfg.shift_px, cfg.shift_px)
    weight = uniform(6, cfg.thin_low, cfg.bold_high)
    keep = tf.cast(uniform(7, 0.0, 1.0) >= cfg.probability, tf.float32)  # 1: leave the image as it is
    angle, shear, tx, ty, weight = (v * (1.0 - keep) for v in (angle, shear, tx, ty, weight))
    scale = scale * (1.0 - keep) + keep
    aspect = aspect * (1.0 - keep) + keep

    # Forward map (output = M @ input): scale·aspect, then shear (slant), then rotation.
    sx, sy = scale * aspect, scale / aspect
    cos, sin = tf.cos(angle), tf.sin(angle)
    # M = R @ Sh @ S with Sh = [[1, shear], [0, 1]]
    m00, m01 = cos * sx, (cos * shear - sin) * sy
    m10, m11 = sin * sx, (sin * shear + cos) * sy
    det = m00 * m11 - m01 * m10
    i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
    c = 13.5  # pixel-centre coordinates of the image centre
    # input = Minv @ (out - c - t) + c
    a2 = c - (i00 * (c + tx) + i01 * (c + ty))
    b2 = c - (i10 * (c + tx) + i11 * (c + ty))
    zeros = tf.zeros_like(angle)
    transforms = tf.stack([i00, i01, a2, i10, i11, b2, zeros, zeros], axis=1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    if cfg.elastic_px > 0:
        field_seed = tf.random.experimental.stateless_fold_in(seeds[7], 1)
        warped = elastic_warp(warped, field_seed, cfg.elastic_px * (1.0 - keep), cfg.elastic_sigma)
    return _stroke_weight(warped, tf.reshape(weight, [-1, 1, 1, 1]))


def elastic_warp(images: Any, seed: Any, rms_px: Any, sigma: float) -> Any:
    """Move each pixel of a (N, H, W, 1) batch by a smooth random field, resampled bilinearly.

    The field is white noise smoothed by a Gaussian of ``sigma`` pixels (computed on a margin
    so that it is as smooth at the border as inside), scaled to ``rms_px`` per axis
    (a scalar or one value per image). Ink moved in from outside the frame is blank.
    """
    import numpy as np
    import tensorflow as tf

    radius = max(1, int(math.ceil(2.0 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    unit = float(np.sum(taps**2))  # variance of white noise after one 1-D pass
    shape = tf.shape(images)
    n, h, w = shape[0], shape[1], shape[2]
    noise = tf.random.stateless_normal(tf.stack([n * 2, h + 2 * radius, w + 2 * radius, 1]), seed=seed)
    kernel = tf.constant(taps / math.sqrt(unit), tf.float32)
    field = tf.nn.conv2d(noise, tf.reshape(kernel, [-1, 1, 1, 1]), strides=1, padding="VALID")
    field = tf.nn.conv2d(field, tf.reshape(kernel, [1, -1, 1, 1]), strides=1, padding="VALID")
    field = tf.reshape(field, tf.stack([n, 2, h, w])) * tf.reshape(tf.cast(rms_px, tf.float32) + tf.zeros([n]), [-1, 1, 1, 1])
    ys = tf.cast(tf.range(h), tf.float32)[None, :, None] + field[:, 0]
    xs = tf.cast(tf.range(w), tf.float32)[None, None, :] + field[:, 1]
    return _bilinear(images, ys, xs)


def _bilinear(images: Any, ys: Any, xs: Any) -> Any:
    """Sample a (N, H, W, 1) batch at (N, H, W) pixel coordinates; outside the frame is 0."""
    import tensorflow as tf

    shape = tf.shape(images)
    n, h, w = shape[0], shape[1], shape[2]
    padded = tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]])  # a blank border to sample outside
    flat = tf.reshape(padded, tf.stack([n, -1]))
    ys = tf.clip_by_value(ys + 1.0, 0.0, tf.cast(h + 1, tf.float32))
    xs = tf.clip_by_value(xs + 1.0, 0.0, tf.cast(w + 1, tf.float32))
    y0, x0 = tf.floor(ys), tf.floor(xs)
    fy, fx = ys - y0, xs - x0
    y0 = tf.cast(y0, tf.int32)
    x0 = tf.cast(x0, tf.int32)
    y1, x1 = tf.minimum(y0 + 1, h + 1), tf.minimum(x0 + 1, w + 1)
    fy, fx = (tf.reshape(f, tf.stack([n, -1])) for f in (fy, fx))

    def at(yi: Any, xi: Any) -> Any:
        return tf.gather(flat, tf.reshape(yi * (w + 2) + xi, tf.stack([n, -1])), batch_dims=1)

    top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx
    bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx
    out = top * (1.0 - fy) + bottom * fy
    return tf.reshape(out, shape)


def _stroke_weight(images: Any, weight: Any) -> Any:
    """Bolder (weight > 0): blend towards a 3×3 dilation. Thinner (weight < 0):
    raise intensities to a power > 1, which fades the soft stroke edges while
    keeping the stroke's core (an erosion would wipe out thin strokes)."""
    import tensorflow as tf

    dilated = tf.nn.max_pool2d(images, ksize=3, strides=1, padding="SAME")
    bold = images + tf.maximum(weight, 0.0) * (dilated - images)
    gamma = 1.0 + 2.5 * tf.maximum(-weight, 0.0)
    return tf.clip_by_value(tf.pow(bold, gamma), 0.0, 1.0)
