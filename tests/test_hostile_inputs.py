"""Hostile and broken images and drawings (issue 17): a clear error for that input, the other
inputs still read, memory bounded. Every probe file is built by its test, in ``tmp_path``.

CLI probes run in a subprocess under an address-space limit (``predict`` on images and drawings
never imports TensorFlow), so a regression ends in a MemoryError there, not on the machine.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from digitscope.model.drawing import Drawing, DrawingError, load_drawing, parse_drawing, save_drawing
from digitscope.model.preprocess import EmptyInputError, drawing_to_tensor, image_to_tensor, load_image_gray
from helpers import bar_png, loop, run_cli_bounded, vertical_stroke
from PIL import Image, ImageDraw

#: The address space a CLI probe may use (the issue's bound on the CLI's peak memory).
CLI_ADDRESS_SPACE = 1536 * 2**20

# ----------------------------------------------------------------------------- probe builders


def stream_png(path: Path, width: int, height: int, mode: str = "L") -> Path:
    """A PNG of a dark vertical bar on white, written a row at a time: a 13000² file costs no
    memory to make. ``mode``: "1" (1 bit), "L" or "RGBA" (black bar on a transparent background)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    depth, colour, channels = {"1": (1, 0, 1), "L": (8, 0, 1), "RGBA": (8, 6, 4)}[mode]
    row_bytes = (width + 7) // 8 if mode == "1" else width * channels
    blank = bytearray(b"\xff" * row_bytes if mode != "RGBA" else bytes(row_bytes))
    ink = bytearray(blank)
    x0, x1 = width // 2 - max(1, width // 40), width // 2 + max(1, width // 40)
    if mode == "L":
        ink[x0:x1] = bytes(x1 - x0)
    elif mode == "RGBA":
        for x in range(x0, x1):
            ink[4 * x : 4 * x + 4] = b"\x00\x00\x00\xff"
    compress = zlib.compressobj(6)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)))
        rows = [b"\x00" + bytes(blank), b"\x00" + bytes(ink)]
        data = []
        for y in range(height):
            data.append(compress.compress(rows[height // 5 <= y < 4 * height // 5]))
        data.append(compress.flush())
        out.write(chunk(b"IDAT", b"".join(data)) + chunk(b"IEND", b""))
    return path




def float_tiff(path: Path, top: float, bad: float | None = None) -> Path:
    """A mode-F TIFF of a bar with values in [0, top]; ``bad`` goes into one corner pixel."""
    a = np.zeros((28, 28), np.float32)
    a[4:24, 13:16] = top
    if bad is not None:
        a[0, 0] = bad
    Image.fromarray(a, mode="F").save(path)
    return path


SIZES = '"width": 280, "height": 280, "pen_width": 18'
#: name → (file content, what its error says)
HOSTILE_DRAWINGS: dict[str, tuple[bytes, str]] = {
    "pen400.json": (
        f'{{"width": 280, "height": 280, "pen_width": {"9" * 400}, "strokes": []}}'.encode(), "pen_width must be a positive finite number"
    ),
    "coord400.json": (f'{{{SIZES}, "strokes": [[[1, {"9" * 400}], [3, 4]]]}}'.encode(), "coordinate out of range"),
    "digits5000.json": (f'{{{SIZES}, "strokes": [[[{"9" * 5000}, 2]]]}}'.encode(), "a number has more than 4,300 digits"),
    "nested.json": (b"[" * 100_000, "nested too deeply"),
    "utf8.json": (b'{"width": 280, "height": 280, "pen_width": 18, "label": "\xff\xfe", "strokes": []}', "not UTF-8 text"),
}


def write_hostile_drawings(folder: Path) -> dict[Path, str]:
    """The hostile drawings in ``folder``: path → the fragment its error message holds."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (content, fragment) in HOSTILE_DRAWINGS.items():
        (folder / name).write_bytes(content)
        out[folder / name] = fragment
    return out


def oversized_drawing(path: Path) -> Path:
    """A valid drawing just over MAX_DRAWING_BYTES (5 MB): the old code parsed it whole."""
    from digitscope.model import drawing

    cap = getattr(drawing, "MAX_DRAWING_BYTES", 5_000_000)  # (so that the probe runs on the old code too)
    head, tail = f'{{{SIZES}, "strokes": [[', "[140, 250]]]}"
    with open(path, "w") as fh:
        fh.write(head)
        fh.write("[140, 40]," * ((cap - len(head)) // 10 + 1))
        fh.write(tail)
    return path


def run_cli(*args: str | Path) -> tuple[int, str, str, int]:
    """``digitscope ARGS`` under :data:`CLI_ADDRESS_SPACE`: (exit status, stdout, stderr, peak RSS)."""
    return run_cli_bounded(*args, address_space=CLI_ADDRESS_SPACE, env={"PYTHONWARNINGS": "default"})


# ----------------------------------------------------------------------------- the CLI batch


def test_predict_reports_each_hostile_input_and_reads_the_rest(tmp_path):
    ok_png, ok_json = bar_png(tmp_path / "ok.png"), tmp_path / "ok.json"
    save_drawing(vertical_stroke(), ok_json)
    expected = {str(p): f for p, f in write_hostile_drawings(tmp_path).items()}
    expected[str(stream_png(tmp_path / "bomb.png", 13500, 13500, "1"))] = "182,250,000 pixels is too large"
    expected[str(stream_png(tmp_path / "big.png", 13000, 13000, "1"))] = "13000×13000 pixels is too large"
    expected[str(oversized_drawing(tmp_path / "huge.json"))] = "too large for a drawing"
    expected[str(float_tiff(tmp_path / "inf.tif", 1.0, np.inf))] = "non-finite pixels"
    expected[str(float_tiff(tmp_path / "nan.tif", 1.0, np.nan))] = "non-finite pixels"
    good = [ok_png, float_tiff(tmp_path / "unit.tif", 1.0), float_tiff(tmp_path / "bytes.tif", 255.0)]
    paths = [str(ok_png), *expected, *map(str, good[1:]), str(ok_json)]

    status, out, err, _ = run_cli("predict", "--json", *paths)

    docs = [json.loads(line) for line in out.splitlines()]
    assert [d["path"] for d in docs] == paths, "every input gets its line, in order"
    by_path = {d["path"]: d for d in docs}
    for path, fragment in expected.items():
        assert fragment in by_path[path].get("error", ""), (path, by_path[path])
    for path in [*map(str, good), str(ok_json)]:
        assert by_path[path].get("digit") == 1, (path, by_path[path])
    assert status == 1, "an input failed: exit status 1, as the README says"
    assert "Traceback" not in err and "Warning" not in err, err


def test_a_large_png_costs_little_memory(tmp_path):
    ok_png = bar_png(tmp_path / "ok.png")
    big = stream_png(tmp_path / "rgba4096.png", 4096, 4096, "RGBA")
    assert big.stat().st_size < 200_000, "a small file..."
    _, _, _, baseline = run_cli("predict", ok_png)
    status, out, err, peak = run_cli("predict", ok_png, big)
    assert status == 0 and out.splitlines()[1].startswith(f"{big}: 1 ("), (out, err)
    assert peak - baseline < 150 * 2**20, f"...read for {(peak - baseline) / 2**20:.0f} MB"


# ----------------------------------------------------------------------------- drawings


@pytest.mark.parametrize("name", sorted(HOSTILE_DRAWINGS))
def test_every_malformed_drawing_is_a_drawing_error(tmp_path, name):
    content, fragment = HOSTILE_DRAWINGS[name]
    with pytest.raises(DrawingError, match=fragment):
        parse_drawing(content)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DrawingError, match=fragment):
        load_drawing(tmp_path / name)


@pytest.mark.parametrize(
    "doc",
    [
        {"width": 10**400, "height": 10, "pen_width": 1, "strokes": []},
        {"width": 10, "height": 10, "pen_width": 1, "strokes": [[[10**5000, 1]]]},  # beyond str()'s digit limit
        {"width": 10, "height": 10, "pen_width": 1, "strokes": [[[-(10**400), 1]]]},
    ],
)
def test_integers_beyond_float_range_are_drawing_errors(doc):
    with pytest.raises(DrawingError, match="digits"):
        Drawing.from_json(doc)


def test_error_messages_stay_short():
    for text in [
        f'{{"width": "{"x" * 1_000_000}", "height": 10, "pen_width": 1, "strokes": []}}',
        f'{{{SIZES}, "strokes": [[[[{"1," * 300_000}1], 2]]]}}',
        f'{{{SIZES}, "strokes": [[[1, 2, {"1," * 300_000}3]]]}}',
    ]:
        with pytest.raises(DrawingError) as info:
            parse_drawing(text)
        assert len(str(info.value)) < 200, str(info.value)[:300]


def test_a_drawing_file_over_the_cap_is_refused_before_it_is_read(tmp_path):
    from digitscope.model.drawing import MAX_DRAWING_BYTES

    sparse = tmp_path / "sparse.json"
    with open(sparse, "wb") as fh:
        fh.truncate(MAX_DRAWING_BYTES + 1)
    with pytest.raises(DrawingError, match=f"too large for a drawing: {MAX_DRAWING_BYTES + 1:,} bytes"):
        load_drawing(sparse)
    with pytest.raises(DrawingError, match="too large"):
        load_drawing(oversized_drawing(tmp_path / "huge.json"))
    if Path("/dev/zero").exists():  # a device has no size: the read itself is capped
        with pytest.raises(DrawingError, match="too large"):
            load_drawing("/dev/zero")


def test_a_subnormal_pen_is_an_empty_drawing_not_an_overflow():
    with pytest.raises(EmptyInputError):
        drawing_to_tensor(Drawing(280, 280, 5e-324, [[(0.0, 0.0), (0.0, 0.0)]]))


def test_my_drawings_skip_and_name_every_bad_file(tmp_path):
    from digitscope.model.my_drawings import DrawingStore, drawings_to_inputs, held_out_inputs, load_labelled

    store = DrawingStore(tmp_path / "mine")
    good = [store.add(vertical_stroke(), 1), store.add(loop(), 0)]
    bad = write_hostile_drawings(store.root / "3")
    data = load_labelled(store.root)
    assert data.paths == sorted(good, key=lambda p: int(p.parent.name))
    assert {p: r for p, r in data.skipped}.keys() == bad.keys()
    for path, reason in data.skipped:
        assert bad[path] in reason
    x, y, _ = drawings_to_inputs(data)
    assert x.shape == (2, 28, 28, 1) and sorted(y.tolist()) == [0, 1]
    held_out_inputs(store.root, fraction=0.5)  # no exception


# ----------------------------------------------------------------------------- images


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(tmp_path, monkeypatch):
    from digitscope.model.preprocess import MAX_IMAGE_PIXELS, ImageTooLargeError
    from PIL import ImageFile

    def no_decoding(self):
        raise AssertionError("decoded before the size was checked")

    big = stream_png(tmp_path / "big.png", 4097, 4096, "1")
    with monkeypatch.context() as m:
        m.setattr(ImageFile.ImageFile, "load", no_decoding)
        with pytest.raises(ImageTooLargeError, match=f"4097×4096 pixels is too large \\(the limit is {MAX_IMAGE_PIXELS:,}"):
            load_image_gray(big)
        with pytest.raises(ImageTooLargeError):
            load_image_gray(big.read_bytes())
    assert MAX_IMAGE_PIXELS == 4096 * 4096
    assert load_image_gray(stream_png(tmp_path / "limit.png", 4096, 4096, "1")).shape == (1024, 1024)


def test_a_decompression_bomb_is_too_large_not_a_crash(tmp_path):
    from digitscope.model.preprocess import ImageTooLargeError

    with pytest.raises(ImageTooLargeError, match="182,250,000 pixels"):
        load_image_gray(stream_png(tmp_path / "bomb.png", 13500, 13500, "1"))


def test_float_images_are_scaled_by_their_range(tmp_path):
    unit = load_image_gray(float_tiff(tmp_path / "unit.tif", 1.0))
    bytes_ = load_image_gray(float_tiff(tmp_path / "bytes.tif", 255.0))
    assert unit.max() == 1.0 and np.array_equal(unit, bytes_)
    assert np.array_equal(image_to_tensor(unit), image_to_tensor(bytes_))


@pytest.mark.parametrize(
    "bad,fragment", [(np.inf, "non-finite"), (-np.inf, "non-finite"), (np.nan, "non-finite"), (-3.0, "must hold values in")]
)
def test_float_images_with_impossible_values_say_so(tmp_path, bad, fragment):
    from digitscope.model.preprocess import ImageContentError

    with pytest.raises(ImageContentError, match=fragment):
        load_image_gray(float_tiff(tmp_path / "bad.tif", 1.0, bad))


def test_images_are_read_from_bytes_and_file_objects(tmp_path):
    path = bar_png(tmp_path / "ok.png")
    expected = load_image_gray(path)
    assert np.array_equal(load_image_gray(path.read_bytes()), expected)
    with open(path, "rb") as fh:
        assert np.array_equal(load_image_gray(fh), expected)
    with pytest.raises(ValueError, match="cannot read the image: not an image"):
        load_image_gray(b"<html>")


def reference_gray(im: Image.Image) -> np.ndarray:
    """The grey conversion as it was before large images were reduced (full size, float32)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        return (arr / (65535.0 if arr.max() > 255 else 255.0)).astype(np.float32)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if alpha.min() < 1.0:
            weight = float(alpha.sum())
            opaque_mean = float((grey * alpha).sum() / weight) if weight > 0 else 0.0
            grey = grey * alpha + (0.0 if opaque_mean > 0.5 else 1.0) * (1.0 - alpha)
        return grey.astype(np.float32)
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def ring(size: tuple[int, int], mode: str) -> Image.Image:
    """A 0-like ring, dark on light (or dark on transparent), in ``mode``."""
    w, h = size
    im = Image.new("L", size, 255)
    ImageDraw.Draw(im).ellipse((w * 0.3, h * 0.2, w * 0.7, h * 0.8), outline=0, width=max(2, w // 15))
    a = np.asarray(im)
    if mode == "RGB":
        return Image.fromarray(np.stack([a, a // 2 + 100, 255 - a // 3], -1).astype(np.uint8))
    if mode == "RGBA":
        return Image.fromarray(np.stack([a // 4, a // 4, a // 4, 255 - a], -1).astype(np.uint8), "RGBA")
    if mode == "P":
        p = im.convert("P")
        p.info["transparency"] = 255
        return p
    if mode == "I;16":
        return Image.fromarray(a.astype(np.uint16) * 257)
    return im


MODES = ("L", "RGB", "RGBA", "P", "I;16")


def encoded(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


@pytest.mark.parametrize("size", [(28, 28), (300, 200), (1024, 1000)])
@pytest.mark.parametrize("mode", MODES)
def test_images_up_to_the_reduction_size_read_exactly_as_before(size, mode):
    data = encoded(ring(size, mode))
    assert np.array_equal(load_image_gray(data), reference_gray(Image.open(io.BytesIO(data))))


def shift_tolerant_difference(a: np.ndarray, b: np.ndarray) -> float:
    """The largest pixel difference of ``a`` and ``b``, allowing ``b`` a whole-pixel shift (the
    centring rounds the centre of mass to a whole pixel, and a tie may round either way)."""
    return min(float(np.abs(np.roll(b, (dy, dx), (0, 1)) - a).max()) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


@pytest.mark.parametrize("size", [(2048, 1500), (3000, 4096)])
@pytest.mark.parametrize("mode,fmt", [*((m, "PNG") for m in MODES), ("RGB", "JPEG")])
def test_large_images_are_reduced_on_the_way_in_and_read_the_same(size, mode, fmt):
    from digitscope.model.preprocess import REDUCE_ABOVE

    data = encoded(ring(size, mode), fmt)
    gray = load_image_gray(data)
    assert max(gray.shape) <= REDUCE_ABOVE and gray.dtype == np.float32
    full = image_to_tensor(reference_gray(Image.open(io.BytesIO(data))))
    # the ink box is found to a whole reduced pixel; JPEG draft mode scales in the DCT domain
    assert shift_tolerant_difference(full, image_to_tensor(gray)) < (0.1 if fmt == "JPEG" else 0.06)


# ----------------------------------------------------------------------------- the app


def test_open_drawing_shows_a_message_for_every_hostile_file(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    messages: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: messages.append(f"{title}: {text}"))
    window.canvas.set_drawing(vertical_stroke())
    before = window.canvas.drawing()
    files = write_hostile_drawings(tmp_path)
    files[oversized_drawing(tmp_path / "huge.json")] = "too large"
    for path, fragment in files.items():
        assert not window.open_drawing(path)
        assert messages and messages[-1].startswith(f"Could not open the drawing: {path.name}: ") and fragment in messages[-1]
    assert len(messages) == len(files) and window.canvas.drawing() == before


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # pytest resets the module's filter
def test_open_image_shows_a_message_for_a_huge_or_broken_image(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    messages: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: messages.append(f"{title}: {text}"))
    files = {
        stream_png(tmp_path / "big.png", 4097, 4096, "1"): "4097×4096 pixels is too large",  # (the old code read it: keep it small)
        stream_png(tmp_path / "bomb.png", 13500, 13500, "1"): "is too large",
        float_tiff(tmp_path / "nan.tif", 1.0, np.nan): "non-finite pixels",
    }
    for path, fragment in files.items():
        assert not window.open_image(path)
        assert messages[-1].startswith(f"Could not open the image: {path.name}: ") and fragment in messages[-1]
    assert not window.canvas.image_loaded()
    assert window.open_image(float_tiff(tmp_path / "unit.tif", 1.0)) and window.canvas.image_loaded()


def test_my_drawings_dialog_lists_hostile_files_as_unreadable(qtbot, tmp_path):
    from digitscope.app.my_drawings_dialog import MyDrawingsDialog
    from digitscope.model.my_drawings import DrawingStore
    from PySide6.QtCore import Qt

    store = DrawingStore(tmp_path / "mine")
    store.add(vertical_stroke(), 1)
    bad = write_hostile_drawings(store.root / "3")
    dialog = MyDrawingsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    items = {dialog.list.item(i).data(Qt.ItemDataRole.UserRole): dialog.list.item(i) for i in range(dialog.list.count())}
    assert len(items) == 1 + len(bad)
    for path, fragment in bad.items():
        assert "unreadable" in items[str(path)].toolTip() and fragment in items[str(path)].toolTip()


def test_comparing_models_finishes_despite_hostile_drawings(tmp_path):
    from digitscope.app.model_comparison import _gather
    from digitscope.model.my_drawings import DrawingStore

    store = DrawingStore(tmp_path / "mine")
    for _ in range(6):
        store.add(vertical_stroke(), 1)
    write_hostile_drawings(store.root / "3")
    rows, held, generation = _gather([], store.root, generation=7)  # in this thread: an exception would fail the test
    assert rows == [] and generation == 7


def test_train_with_drawings_skips_and_names_hostile_files(tmp_path, tiny_mnist, capsys):
    from digitscope.model.cli import main
    from digitscope.model.my_drawings import DrawingStore

    store = DrawingStore(tmp_path / "mine")
    for _ in range(4):
        store.add(vertical_stroke(), 1)
        store.add(loop(), 0)
    bad = write_hostile_drawings(store.root / "3")
    out = tmp_path / "numpy.keras"
    args = ["train", "--architecture", "numpy", "--mnist", str(tiny_mnist), "--epochs", "1", "--drawings", str(store.root)]
    assert main([*args, "--progress", "json", "-o", str(out)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (drawings,) = [e for e in events if e.get("event") == "drawings"]
    assert {s["path"] for s in drawings["skipped"]} == {str(p) for p in bad}
    assert drawings["trained"] + drawings["held_out"] == 8 and out.exists()


@pytest.mark.parametrize("size", [(300, 200), (2048, 1500)])
def test_exif_orientation_is_applied_before_and_after_reduction(size):
    im = ring(size, "RGB").crop((0, 0, size[0] * 3 // 4, size[1]))  # lopsided, so a rotation shows
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95, exif=exif)
    upright = load_image_gray(encoded(im.transpose(Image.Transpose.ROTATE_270), "JPEG"))
    gray = load_image_gray(buf.getvalue())
    assert gray.shape == upright.shape and np.abs(gray - upright).mean() < 0.02
