"""Guards against a Qt binding that corrupts Python's reference counts.

PySide6 6.12.0 decrements None's reference count on every ``QLabel.setText``;
the app sets labels on every live update, so on Python 3.11 it would abort
after some thousands of strokes. pyproject.toml excludes that release.

On Python 3.12 and later None is immortal: its count never moves, so a guard
on it alone would pass whatever the binding did. It runs where it can measure
something (and says it is skipped elsewhere); the other guard counts
ordinary objects, whose counts move on every Python: the text handed in, the
label itself and the text handed back, and checks the label is freed.
"""

from __future__ import annotations

import gc
import sys
import weakref

import pytest
from PySide6.QtWidgets import QLabel

CALLS = 500


def _none_is_counted() -> bool:
    """Whether None's reference count moves when references to it are made (no on 3.12+)."""
    before = sys.getrefcount(None)
    held = [None] * 1000
    moved = sys.getrefcount(None) - before
    del held
    return moved >= 1000


def test_set_text_keeps_none_reference_count(qapp):
    if not _none_is_counted():
        pytest.skip("None is immortal on this Python: its count cannot drop (nor the app abort for it)")
    label = QLabel()
    before = sys.getrefcount(None)
    for i in range(CALLS):
        label.setText(str(i))
        label.setToolTip(str(i))
    assert sys.getrefcount(None) >= before - 10, "the binding drops references to None"


def test_set_text_keeps_the_reference_counts_of_what_it_is_given_and_gives_back(qapp):
    label = QLabel()
    text = "".join(["digit ", "7"])  # made at run time: an ordinary, counted str
    counts = sys.getrefcount(text), sys.getrefcount(label)
    held = [text, label]  # the measurement sees one reference more of each
    assert (sys.getrefcount(text), sys.getrefcount(label)) == (counts[0] + 1, counts[1] + 1)
    del held
    for _ in range(CALLS):
        label.setText(text)
        label.setToolTip(text)
    assert sys.getrefcount(text) == counts[0], "setText/setToolTip change the count of the text they are given"
    assert sys.getrefcount(label) == counts[1], "setText/setToolTip change the count of the label"
    back, fresh = label.text(), "".join(["digit ", "8"])
    assert back == text and sys.getrefcount(back) == sys.getrefcount(fresh), "the text handed back is owned once, by the caller"
    freed = weakref.ref(label)
    del label
    gc.collect()
    assert freed() is None, "the label is freed once the last reference goes"
