"""Interrupts on the command line: SIGTERM as Ctrl+C, and held until a TensorFlow call ends.

The signals are real: the test process sends SIGTERM to itself.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from digitscope.model.interrupts import held, termination_as_interrupt

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGTERM as POSIX delivers it")


def _terminate_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)  # a Python signal handler runs at the next bytecode of the main thread


def test_sigterm_raises_keyboard_interrupt_and_the_handler_is_put_back():
    before = signal.getsignal(signal.SIGTERM)
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with termination_as_interrupt():
            _terminate_self()
            steps.append("after the signal")
    assert steps == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_interrupt_inside_held_waits_for_the_body_and_is_raised_after_it():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with termination_as_interrupt():
            with held():
                _terminate_self()
                steps.append("the body went on")
            steps.append("after the held block")
    assert steps == ["the body went on"]


def test_a_held_block_without_an_interrupt_changes_nothing_and_a_later_signal_still_interrupts():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with termination_as_interrupt():
            with held():
                steps.append("held")
            steps.append("after")
            _terminate_self()
            steps.append("not reached")
    assert steps == ["held", "after"]


def test_an_error_after_a_held_interrupt_is_reported_as_the_interrupt():
    with pytest.raises(KeyboardInterrupt) as caught:
        with termination_as_interrupt():
            with held():
                _terminate_self()
                raise ValueError("what TensorFlow made of it")
    assert isinstance(caught.value.__cause__, ValueError)


def test_nested_held_blocks_raise_once_the_outermost_ends():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with termination_as_interrupt():
            with held():
                with held():
                    _terminate_self()
                steps.append("outer body")
    assert steps == ["outer body"]


def test_held_outside_the_command_line_is_a_plain_block():
    with held():
        value = 1 + 1
    assert value == 2
