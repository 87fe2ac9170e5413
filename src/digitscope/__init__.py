"""Digitscope: draw a digit and watch a convolutional network read it, live.

Sub-packages: :mod:`digitscope.model` (network, data, preprocessing,
inference, training; no Qt), :mod:`digitscope.app` (the Qt GUI) and
:mod:`digitscope.assets` (the bundled model).
"""

__version__ = "0.1.0"
