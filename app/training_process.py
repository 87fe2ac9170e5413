"""A retraining run in a separate process: ``digitscope train --progress json --control stdin``.

Why a process and not a thread: training imports TensorFlow (about 1 GB and
several seconds) and keeps both cores and the interpreter lock busy for
minutes; in its own process it cannot stall drawing, a crash in it cannot take
the window down, and Cancel is certain (ask it to stop; if it has not within
1.5 s, kill it). It writes its model only at the very end, atomically: a kill
then leaves at most a temporary file, which the retraining dialog removes.

The command is this very program: ``sys.executable -m digitscope train`` from
Python, or the packaged executable itself with ``train`` (never a ``python``
from PATH).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

STOP_GRACE_MS = 1500


def train_program() -> tuple[str, list[str]]:
    """The program and leading arguments that run ``digitscope train``."""
    if getattr(sys, "frozen", False):  # the packaged app: the executable runs the CLI too
        return sys.executable, ["train"]
    return sys.executable, ["-m", "digitscope", "train"]


class TrainingRun(QObject):
    """One run. ``event`` carries each JSON progress event; ``finished`` comes once, with
    ``status`` "done", "cancelled" or "failed" and a message for the user."""

    event = Signal(dict)
    finished = Signal(str, str)  # status, message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self._stderr = b""
        self._buffer = b""
        self._cancelling = False
        self._done = False
        self.saved: Path | None = None
        self.error: str | None = None
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self.process.kill)

    def start(self, arguments: list[str]) -> None:
        """Start ``digitscope train --progress json --control stdin --nice 10`` with ``arguments``."""
        program, lead = train_program()
        env = QProcessEnvironment.systemEnvironment()
        env.insert("TF_CPP_MIN_LOG_LEVEL", "3")
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        if sys.platform != "win32" and hasattr(self.process, "setUnixProcessParameters"):
            # vfork: a plain fork copies the page tables of this large process, a stall of
            # tens of ms for the GUI (Qt ≥ 6.6)
            self.process.setUnixProcessParameters(QProcess.UnixProcessFlag.UseVFork)
        # --nice: training takes the CPU only when drawing and live reading do not need it
        self.process.start(program, [*lead, *arguments, "--progress", "json", "--control", "stdin", "--nice", "10"])

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        """Ask the run to stop; it is killed if it has not stopped within 1.5 s."""
        if not self.running():
            return
        self._cancelling = True
        self.process.write(b"stop\n")
        self.process.closeWriteChannel()
        self._kill_timer.start(STOP_GRACE_MS)

    def wait(self, ms: int) -> bool:
        """Block until the process ends (used when the app closes)."""
        if not self.running():
            return True
        done = self.process.waitForFinished(ms)
        if not done:
            self.process.kill()
            done = self.process.waitForFinished(1000)
        return done

    # ------------------------------------------------------------------ process output

    def _read_stdout(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._handle_line(line)

    def _handle_line(self, line: bytes) -> None:
        line = line.strip()
        if not line:
            return
        try:
            event: Any = json.loads(line)
        except ValueError:
            return  # stray output (a library's print); only JSON lines are events
        if not isinstance(event, dict):
            return
        kind = event.get("event")
        if kind == "saved":
            self.saved = Path(event["path"])
        elif kind == "error":
            self.error = str(event.get("message"))
        self.event.emit(event)

    def _read_stderr(self) -> None:
        self._stderr = (self._stderr + bytes(self.process.readAllStandardError().data()))[-8000:]

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._finish("failed", f"Training could not start: {self.process.errorString()}")

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        self._read_stdout()
        self._handle_line(self._buffer)
        self._buffer = b""
        if self._cancelling:
            self._finish("cancelled", "Training was cancelled; nothing was changed.")
        elif status == QProcess.ExitStatus.NormalExit and code == 0 and self.saved is not None:
            self._finish("done", "")
        else:
            how = "crashed" if status == QProcess.ExitStatus.CrashExit else f"stopped with exit status {code}"
            detail = self.error or self._stderr_tail()
            self._finish("failed", f"Training {how}: {detail}" if detail else f"Training {how}.")

    def _stderr_tail(self) -> str:
        lines = [ln for ln in self._stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        return "\n".join(lines[-3:])

    def _finish(self, status: str, message: str) -> None:
        if not self._done:
            self._done = True
            self.finished.emit(status, message)
