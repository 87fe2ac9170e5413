"""Files, training output, export and MNIST under hostile or broken conditions (issue 17).

Kills are real: a child process is SIGKILLed (or SIGTERMed) at a chosen step of a save. Memory
is bounded with ``resource.setrlimit`` in the child wherever a regression would allocate.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from digitscope.model import files
from digitscope.model.cli import main
from helpers import vertical_stroke

posix_only = pytest.mark.skipif(os.name != "posix", reason="signals, umask and locks as POSIX has them")
#: Temporary names beside a target, as Digitscope makes them (and tempfile made them before).
TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(?:\.[A-Za-z0-9]+)?$")


def temps(folder: Path) -> list[str]:
    """The temporary files and folders in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if TEMP.match(p.name))


def backdate(path: Path, seconds: float = 3600) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def python(code: str, *args: str, hook: str | None = None, tmp_path: Path | None = None, **kw) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; ``hook`` is a sitecustomize run first (it needs ``tmp_path``)."""
    env = dict(os.environ)
    if hook is not None:
        folder = tmp_path / "hook"
        folder.mkdir(exist_ok=True)
        (folder / "sitecustomize.py").write_text(hook)
        env["PYTHONPATH"] = str(folder) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300, **kw)


def process_umask() -> int:
    """The umask, read without changing it (Linux)."""
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("reads the umask from /proc")
    return int(re.search(r"^Umask:\s*([0-7]+)", status.read_text(), re.M)[1], 8)


# ---------------------------------------------------------------------- umask (12)


@posix_only
def test_atomic_writes_never_touch_the_process_umask(tmp_path, monkeypatch):
    def no_umask(mask):
        raise AssertionError("os.umask changes the umask of every thread")

    mask = process_umask()
    monkeypatch.setattr(os, "umask", no_umask)
    files.atomic_write_bytes(tmp_path / "a.bin", b"x")
    with files.temp_beside(tmp_path / "out", folder=True) as folder:
        made = folder.stat().st_mode & 0o777
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o666 & ~mask
    assert made == 0o777 & ~mask


@posix_only
def test_files_other_threads_create_meanwhile_keep_the_umask(tmp_path):
    old = os.umask(0o022)
    stop = time.monotonic() + 1.0
    modes: list[int] = []

    def create(k: int) -> None:
        i = 0
        while time.monotonic() < stop:
            p = tmp_path / f"c{k}-{i}"
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o666))
            modes.append(p.stat().st_mode & 0o777)
            p.unlink()
            i += 1

    def write(k: int) -> None:
        while time.monotonic() < stop:
            files.atomic_write_bytes(tmp_path / f"w{k}", b"x")

    threads = [threading.Thread(target=f, args=(k,)) for f in (create, write) for k in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        os.umask(old)
    assert modes and all(m == 0o644 for m in modes), f"{sum(m != 0o644 for m in modes)} of {len(modes)} got another mode"


# ---------------------------------------------------------------------- stale temporary files (10)


@posix_only
def test_only_stale_temporary_files_are_removed(tmp_path):
    stale = tmp_path / ".m.keras.0a1b2c3d.tmp.keras"
    stale.write_bytes(b"")
    backdate(stale)
    stale_folder = tmp_path / ".1.0a1b2c3d.tmp"
    (stale_folder / "variables").mkdir(parents=True)
    backdate(stale_folder)
    fresh = tmp_path / ".m.json.9f8e7d6c.tmp"
    fresh.write_bytes(b"")  # seconds old: may be a writer's that has not locked it yet
    mine = tmp_path / ".notes.tmp"
    mine.write_text("not ours")
    backdate(mine)
    with files.temp_beside(tmp_path / "other.keras", ".keras") as held:
        backdate(held)  # old, but its writer holds it
        removed = files.remove_stale_temps(tmp_path)
        assert held.exists()
    assert sorted(removed) == sorted([stale, stale_folder])
    assert fresh.exists() and mine.exists()


# ---------------------------------------------------------------------- training arguments and divergence (8)


@pytest.mark.parametrize(
    "extra",
    [
        ["--learning-rate", "nan"], ["--learning-rate", "inf"], ["--learning-rate", "-1"], ["--learning-rate", "0"],
        ["--epochs", "0"], ["--epochs", "1" + "0" * 20], ["--batch-size", "0"], ["--seed", "-1"], ["--seed", "1" + "0" * 20],
        ["--validation-split", "nan"], ["--validation-split", "1"], ["--drawings-weight", "inf"],
        ["--pen-copies", "0"], ["--synth", "1" + "0" * 12], ["--nice", "1" + "0" * 20],
    ],
)
def test_train_refuses_bad_numbers_as_a_usage_error(extra, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--mnist", "unused.npz", "-o", str(tmp_path / "m.keras"), *extra])
    assert stop.value.code == 2
    assert f"argument {extra[0]}" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_run_that_diverges_writes_nothing_and_exits_1(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "m.keras"
    code = main(["train", "--mnist", str(tiny_mnist), "--epochs", "1", "--batch-size", "32", "--no-augment",
                 "--learning-rate", "1e12", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "diverged" in err and "lower learning rate" in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == [tiny_mnist.name]


def test_non_finite_weights_are_refused():
    from digitscope.model.architecture import build_model
    from digitscope.model.training import TrainingDiverged, check_finite_weights

    model = build_model("dense")
    check_finite_weights(model)
    weights = model.get_weights()
    weights[-1][3] = np.inf
    model.set_weights(weights)
    with pytest.raises(TrainingDiverged, match="NaN or infinite"):
        check_finite_weights(model)


# ---------------------------------------------------------------------- the output, checked up front (10)


@pytest.mark.parametrize("output", ["m.h5", "not-a-folder/m.keras", "a-folder.keras"])
def test_an_output_that_cannot_be_written_is_reported_before_the_run(output, tmp_path, capsys, monkeypatch):
    from digitscope.model import mnist

    (tmp_path / "not-a-folder").write_text("a file")
    (tmp_path / "a-folder.keras").mkdir()

    def no_data(*a, **k):
        raise AssertionError("MNIST was loaded before the output was checked")

    monkeypatch.setattr(mnist, "load_mnist", no_data)
    assert main(["train", "--mnist", "unused.npz", "-o", str(tmp_path / output)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes to any folder")
def test_a_read_only_output_folder_is_reported_before_the_run(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert main(["train", "--mnist", "unused.npz", "-o", str(folder / "m.keras")]) == 2
    finally:
        folder.chmod(0o700)
    assert "cannot write model files" in capsys.readouterr().err


# ---------------------------------------------------------------------- the model and its metadata, killed (10)

SAVE_CHILD = """
import os, re, signal, sys
from pathlib import Path
from digitscope.model.tf_setup import quiet_tensorflow
quiet_tensorflow()
from digitscope.model.architecture import build_model
TEMP = re.compile(r"^\\..+\\.[a-z0-9_]{8}\\.tmp(?:\\.[A-Za-z0-9]+)?$")
from digitscope.model.modelfile import save_model

out, at, run = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
steps = [0]

def killing(real, changed):
    # SIGKILL just before the at-th step that changes a final name (not a temporary one) in out's folder
    def step(*a, **k):
        name = Path(changed(*a))
        if name.parent == out.parent and not TEMP.match(name.name):
            steps[0] += 1
            if steps[0] == at:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(*a, **k)
    return step

os.replace = killing(os.replace, lambda src, dst: dst)
os.rename = killing(os.rename, lambda src, dst: dst)
Path.unlink = killing(Path.unlink, lambda self, *a: self)
save_model(build_model("dense"), out, {"run": run})
"""


@posix_only
def test_a_kill_at_any_step_of_a_save_never_pairs_a_model_with_another_models_metadata(tmp_path):
    out = tmp_path / "m.keras"
    made = python(SAVE_CHILD, str(out), "0", "old")
    assert made.returncode == 0, made.stderr
    old_model, old_meta = out.read_bytes(), out.with_suffix(".json").read_bytes()
    seen = set()
    for at in (1, 2, 3, 4):  # the old metadata goes, the model is replaced, the metadata is; 4: no kill
        out.write_bytes(old_model)
        out.with_suffix(".json").write_bytes(old_meta)
        done = python(SAVE_CHILD, str(out), str(at), "new")
        assert done.returncode == (0 if at == 4 else -signal.SIGKILL), done.stderr
        model = "old" if out.read_bytes() == old_model else "new"
        meta_file = out.with_suffix(".json")
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else None
        if meta is not None:
            assert meta["run"] == model, f"kill at step {at}: the {model} model beside the {meta['run']} model's metadata"
            assert model == "old" or meta["model_sha256"] == files.sha256_file(out)
        seen.add((model, meta and meta["run"]))
    assert ("new", "new") in seen
    from digitscope.model.train_run import remove_stale_output_temps

    remove_stale_output_temps(out, min_age=0)  # what the killed saves left: their writers are gone
    assert not temps(tmp_path)


KILL_HOOK = """
import os, signal
import digitscope.model.files as files
def die(path):  # the model has been written to its temporary file: stop right there
    os.kill(os.getpid(), signal.SIG{sig})
files._fsync = die
"""


@posix_only
@pytest.mark.parametrize("sig", ["KILL", "TERM"])
def test_a_train_killed_while_saving_keeps_the_old_files_and_its_leftovers_are_removed(sig, tiny_mnist, tmp_path, capsys):
    out = tmp_path / "out" / "m.keras"
    out.parent.mkdir()
    out.write_bytes(b"old model")
    out.with_suffix(".json").write_text('{"old": true}')
    argv = ["train", "--mnist", str(tiny_mnist), "--epochs", "1", "--batch-size", "32", "--no-augment", "-o", str(out)]
    code = "import sys; from digitscope.model.cli import main; sys.exit(main(sys.argv[1:]))"
    done = python(code, *argv, hook=KILL_HOOK.format(sig=sig), tmp_path=tmp_path)
    assert out.read_bytes() == b"old model" and out.with_suffix(".json").read_text() == '{"old": true}'
    if sig == "TERM":  # a terminated run cleans up after itself, as Ctrl+C does
        assert done.returncode == 130 and "interrupted" in done.stderr, done.stderr
        assert not temps(out.parent)
        return
    assert done.returncode == -signal.SIGKILL
    left = temps(out.parent)
    assert left, "a SIGKILL leaves its temporary files (nothing can clean up then)"
    for name in left:
        backdate(out.parent / name, 60)
    assert main(argv) == 0, capsys.readouterr().err  # the next run removes them
    assert not temps(out.parent)
    assert json.loads(out.with_suffix(".json").read_text())["model_sha256"] == files.sha256_file(out)


# ---------------------------------------------------------------------- export (10)


@posix_only
def test_an_export_has_the_usual_modes_and_removes_a_killed_exports_folder(tmp_path, capsys):
    stale = tmp_path / "models" / ".1.0a1b2c3d.tmp"
    (stale / "variables").mkdir(parents=True)
    (stale / "saved_model.pb").write_bytes(b"half")
    backdate(stale)
    old = os.umask(0o022)
    try:
        assert main(["export", str(tmp_path / "models" / "1")]) == 0, capsys.readouterr().err
    finally:
        os.umask(old)
    out = tmp_path / "models" / "1"
    for p in [out, *out.rglob("*")]:
        assert p.stat().st_mode & 0o777 == (0o755 if p.is_dir() else 0o644), p
    assert [p.name for p in out.parent.iterdir()] == ["1"], "the stale temporary folder is gone"


def test_an_export_to_a_folder_that_cannot_be_made_fails_before_loading(tmp_path, capsys, monkeypatch):
    from digitscope.model import modelfile

    monkeypatch.setattr(modelfile, "load_keras_model", lambda *a: pytest.fail("the model was loaded first"))
    (tmp_path / "file").write_text("x")
    assert main(["export", str(tmp_path / "file" / "1")]) == 2
    assert "cannot write" in capsys.readouterr().err


@posix_only
def test_a_terminated_export_leaves_nothing(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digitscope", "export", str(models / "1")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    # the export's temporary folder: .1.XXXXXXXX.tmp (earlier versions: .1-XXXXXXXX)
    while not any(p.name.startswith((".1.", ".1-")) for p in models.iterdir()) and proc.poll() is None:
        assert time.monotonic() < deadline, "the export never started writing"
        time.sleep(0.01)
    proc.terminate()
    err = proc.communicate(timeout=120)[1]
    if proc.returncode == 0:
        pytest.skip("the export finished before the signal arrived")
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    assert list(models.iterdir()) == []


# ---------------------------------------------------------------------- relabel race (11)

MOVER = """
import sys, time
from pathlib import Path
from digitscope.model.my_drawings import DrawingStore
store = DrawingStore(sys.argv[1]); paths = store.files(3); go = Path(sys.argv[1]) / "go"
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
moved = gone = 0
for p in paths:
    try:
        store.relabel(p, int(sys.argv[2])); moved += 1
    except FileNotFoundError:
        gone += 1
print(moved, gone)
"""


def test_two_windows_moving_the_same_drawings_never_duplicate_one(tmp_path):
    from digitscope.model.my_drawings import DrawingStore

    store = DrawingStore(tmp_path / "mine")
    for _ in range(200):
        store.add(vertical_stroke(), 3)
    env = dict(os.environ)
    movers = [
        subprocess.Popen([sys.executable, "-c", MOVER, str(store.root), d], stdout=subprocess.PIPE, text=True, env=env)
        for d in ("4", "5")
    ]
    for m in movers:
        assert m.stdout.readline().strip() == "ready"
    (store.root / "go").touch()
    counts = [list(map(int, m.communicate(timeout=120)[0].split())) for m in movers]
    assert all(m.returncode == 0 for m in movers)
    four, five = ({p.name for p in store.files(d)} for d in (4, 5))
    assert not four & five, f"{len(four & five)} drawings are under both 4 and 5"
    assert len(four) + len(five) == 200 and not store.files(3), "none lost"
    assert sum(c[0] for c in counts) == 200 and sum(c[1] for c in counts) == 200, counts
    for d in (4, 5):
        assert all(json.loads(p.read_text())["label"] == d for p in store.files(d))
    assert not any(TEMP.match(p.name) for p in store.root.rglob("*"))


def test_relabel_of_a_drawing_another_window_moved(tmp_path):
    from digitscope.model.my_drawings import DrawingStore

    store = DrawingStore(tmp_path)
    a, b = store.add(vertical_stroke(), 3), store.add(vertical_stroke(), 3)
    moved = store.relabel(a, 4)
    assert store.relabel(a, 4) == moved, "moved to the same digit already: that file"
    with pytest.raises(FileNotFoundError, match="moved or deleted meanwhile"):
        store.relabel(a, 5)
    (tmp_path / "6").mkdir()
    (tmp_path / "6" / b.name).write_text("another drawing of the same name")
    kept = store.relabel(b, 6)
    assert kept != tmp_path / "6" / b.name and (tmp_path / "6" / b.name).read_text().startswith("another")
    assert sorted(p.name for p in store.files()) == sorted([moved.name, b.name, kept.name])


# ---------------------------------------------------------------------- MNIST files (14)


def _mnist(tmp_path: Path, name: str, **changes) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (20, 28, 28)).astype(np.uint8), "y_train": rng.integers(0, 10, 20).astype(np.uint8),
        "x_test": rng.integers(0, 256, (8, 28, 28)).astype(np.uint8), "y_test": rng.integers(0, 10, 8).astype(np.uint8),
    }
    arrays.update(changes)
    path = tmp_path / f"{name}.npz"
    np.savez(path, **arrays)
    return path


BAD_MNIST = {
    "float-images": ({"x_train": np.zeros((20, 28, 28), np.float32)}, "must be uint8 images"),
    "empty-test-set": ({"x_test": np.zeros((0, 28, 28), np.uint8), "y_test": np.zeros(0, np.uint8)}, "test set is empty"),
    "empty-train-set": ({"x_train": np.zeros((0, 28, 28), np.uint8), "y_train": np.zeros(0, np.uint8)}, "train set is empty"),
    "labels-over-9": ({"y_test": np.full(8, 12, np.int64)}, "labels are digits 0–9"),
    "negative-labels": ({"y_test": np.full(8, -1, np.int64)}, "labels are digits 0–9"),
    "float-labels": ({"y_test": np.zeros(8, np.float32)}, "integer labels"),
    "labels-and-images-differ": ({"y_test": np.zeros(7, np.uint8)}, "8 images but y_test 7 labels"),
    "object-arrays": ({"y_train": np.array([1, "x"] * 10, dtype=object)}, "integer labels"),
}


@pytest.mark.parametrize("name", BAD_MNIST)
def test_evaluate_on_a_broken_mnist_file_is_a_clear_error(name, tmp_path, capsys):
    changes, message = BAD_MNIST[name]
    path = _mnist(tmp_path, name, **changes)
    assert main(["evaluate", "--mnist", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err


@posix_only
def test_an_mnist_file_declaring_huge_arrays_is_refused_before_they_are_read(tmp_path):
    import io

    path = _mnist(tmp_path, "huge")
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    # x_train's header says 10 million images (7.8 GB); the data is not even there
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (10_000_000, 28, 28)})
    members["x_train.npy"] = header.getvalue() + bytes(1000)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from digitscope.model.mnist import read_mnist, MnistUnavailable\n"
        "try:\n    read_mnist(sys.argv[1])\nexcept MnistUnavailable as exc:\n    print(exc)\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and "10,000,000 entries" in done.stdout, done.stdout + done.stderr


# ---------------------------------------------------------------------- TensorFlow's notices (14)


def test_tensorflow_imports_without_its_start_up_notices(tmp_path):
    code = (
        "import os, sys\n"
        "from digitscope.model.tf_setup import quiet_tensorflow\n"
        "quiet_tensorflow()\n"
        "import keras\n"
        "print('stderr after', file=sys.stderr, flush=True)\n"
        "os.write(2, b'fd 2 after\\n')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "oneDNN" not in done.stderr and "absl::InitializeLog" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-2:] == ["stderr after", "fd 2 after"]


def test_the_stderr_filter_keeps_what_the_level_shows():
    from digitscope.model.tf_setup import keep_line

    info = b"I0000 00:00:1796130743.213501   22056 port.cc:153] oneDNN custom operations are on."
    error = b"E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to register cuDNN factory"
    fatal = b"F0000 00:00:1758131045.203198 3722035 x.cc:1] Check failed"
    preamble = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
    assert not keep_line(info, 1) and keep_line(info, 0)
    assert keep_line(error, 2) and not keep_line(error, 3) and keep_line(fatal, 3)
    assert not keep_line(preamble, 1)
    assert keep_line(b"Traceback (most recent call last):", 3) and keep_line(b"I think so", 3)


# ---------------------------------------------------------------------- the app's candidate folder (10)

FAKE_TRAIN = """
import sys, time
from pathlib import Path
out = Path(sys.argv[sys.argv.index("--output") + 1])
# as a run killed in the middle of its save leaves them: a model and a metadata temporary file
(out.parent / f".{out.name}.0a1b2c3d.tmp.keras").write_bytes(b"")
(out.parent / f".{out.with_suffix('.json').name}.0a1b2c3d.tmp").write_bytes(b"{")
print('{"event": "start", "epochs": 1, "steps_per_epoch": 1, "train_samples": 1, "val_samples": 0}', flush=True)
time.sleep(600)  # never reads "stop": only the kill timer ends it
"""


def test_cancel_arms_the_kill_and_a_killed_run_leaves_no_candidate_files(qtbot, tmp_path, tiny_mnist, monkeypatch):
    from digitscope.app import training_process
    from digitscope.app.retrain_dialog import RetrainDialog
    from digitscope.model.my_drawings import DrawingStore
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []  # a modal box would block a headless test
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append(f"{title}: {text}"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)

    monkeypatch.setattr(training_process, "train_program", lambda: (sys.executable, ["-c", FAKE_TRAIN]))
    models = tmp_path / "models"
    (models / "candidates").mkdir(parents=True)
    stale = models / "candidates" / ".retrained-old.keras.0f0f0f0f.tmp.keras"
    stale.write_bytes(b"")
    backdate(stale)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    dialog = RetrainDialog(settings, DrawingStore(tmp_path / "mine"), None, models)
    qtbot.addWidget(dialog)
    assert dialog.set_mnist(tiny_mnist)
    dialog.start_training()
    assert not stale.exists(), "a run starts by removing what killed runs left"
    with qtbot.waitSignal(dialog.run.event, timeout=60000):
        pass
    assert len(temps(models / "candidates")) == 2
    dialog.cancel_training()
    timer = dialog.run._kill_timer
    assert timer.isActive() and timer.isSingleShot() and timer.interval() == training_process.STOP_GRACE_MS
    assert dialog.run.running(), "it is asked first, and killed only when the timer fires"
    with qtbot.waitSignal(dialog.run.finished, timeout=60000) as done:
        timer.timeout.emit()  # the grace period is over
    assert done.args[0] == "cancelled" and not shown, shown
    assert not (models / "candidates").exists() or not any((models / "candidates").iterdir())
    assert dialog.train_button.isEnabled()
