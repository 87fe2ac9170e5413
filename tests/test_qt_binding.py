"""Guards against a Qt binding that corrupts Python's reference counts.

PySide6 6.12.0 decrements None's reference count on every ``QLabel.setText``;
the app sets labels on every live update, so on Python 3.11 it would abort
after some thousands of strokes. pyproject.toml excludes that release.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_set_text_keeps_reference_counts(qapp):
    label = QLabel()
    before = sys.getrefcount(None)
    for i in range(500):
        label.setText(str(i))
        label.setToolTip(str(i))
    assert sys.getrefcount(None) >= before - 10
