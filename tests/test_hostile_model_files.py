"""Hostile and broken model files (issue 17): a clear message, no traceback, memory bounded.

Every probe is built by its test, in ``tmp_path``: zip bombs from one compressed piece repeated
(nothing is ever compressed at full size), HDF5 files with h5py. CLI probes run in a subprocess
under an address-space limit, so a regression ends in a MemoryError there, not on the machine;
the loader refuses every probe before TensorFlow is imported, except those whose config only
Keras can size (those run under a wider limit, and their peak memory is measured).
"""

from __future__ import annotations

import bz2
import io
import itertools
import json
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from digitscope.model.cnn_file import read_model_file
from digitscope.model.inference import load_predictor
from digitscope.model.modelfile import (
    MAX_WEIGHTS_BYTES,
    ModelFileError,
    bundled_model_path,
    check_keras_version,
    read_metadata,
)

from helpers import bar_png, run_cli_bounded

MiB, GiB = 1 << 20, 1 << 30
#: The address space a CLI probe may use (the issue's bound on the CLI's peak memory).
CLI_ADDRESS_SPACE = 1536 * MiB
#: For probes that reach Keras: TensorFlow reserves address space it never touches.
KERAS_ADDRESS_SPACE = 4 * GiB
PEAK_RSS = 1536 * MiB

# ----------------------------------------------------------------------------- probe builders


def zeros_crc32(size: int) -> int:
    """CRC-32 of ``size`` zero bytes (what the zip header of a bomb of zeros declares)."""
    chunk, crc = bytes(64 * MiB), 0
    for start in range(0, size, len(chunk)):
        crc = zlib.crc32(memoryview(chunk)[: min(len(chunk), size - start)], crc)
    return crc


def deflated_zeros(size: int) -> bytes:
    """A raw deflate stream of ``size`` zero bytes (a multiple of 1 MiB): one compressed MiB
    repeated, a full flush making each piece byte-aligned and independent of the last."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    return piece * (size // MiB) + c.flush()


def bzip2_zeros(size: int) -> bytes:
    """A bzip2 stream of ``size`` zero bytes (a multiple of 32 MiB): one compressed block
    repeated (a block of zeros always compresses to the same bits), then the stream's end."""
    block_input, start, end = 32 * MiB, f"{0x314159265359:048b}", f"{0x177245385090:048b}"
    bits = "".join(f"{b:08b}" for b in bz2.compress(bytes(block_input), 9)[4:])  # after "BZh9"
    block = bits[: bits.rindex(end)]
    assert block.startswith(start) and block.count(start) == 1
    block_crc, crc = int(block[48:80], 2), 0
    for _ in range(size // block_input):
        crc = (((crc << 1) | (crc >> 31)) & 0xFFFFFFFF) ^ block_crc
    out = block * (size // block_input) + end + f"{crc:032b}"
    out += "0" * (-len(out) % 8)
    return b"BZh9" + int(out, 2).to_bytes(len(out) // 8, "big")


def write_raw_zip(path: Path, members: list[tuple[str, int, bytes, int, int]]) -> Path:
    """A zip of (name, method, compressed bytes, size unpacked, CRC-32) members with zip64
    sizes: zipfile only writes what it compressed itself."""
    out, central = io.BytesIO(), []
    for name, method, data, size, crc in members:
        offset, fname = out.tell(), name.encode()
        extra = struct.pack("<HHQQ", 1, 16, size, len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 46, 0, method, 0, 0x21, crc, 2**32 - 1, 2**32 - 1, len(fname), len(extra)))
        out.write(fname + extra + data)
        cextra = struct.pack("<HHQQQ", 1, 24, size, len(data), offset)
        central.append(
            struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 46, 46, 0, method, 0, 0x21, crc, 2**32 - 1, 2**32 - 1,
                        len(fname), len(cextra), 0, 0, 0, 0, 2**32 - 1) + fname + cextra
        )
    directory = b"".join(central)
    start = out.tell()
    out.write(directory + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), start, 0))
    path.write_bytes(out.getvalue())
    return path


def stored(name: str, data: bytes) -> tuple[str, int, bytes, int, int]:
    return name, zipfile.ZIP_STORED, data, len(data), zlib.crc32(data)


def cnn_config() -> dict:
    with zipfile.ZipFile(bundled_model_path()) as z:
        return json.loads(z.read("config.json"))


def cnn_arrays() -> dict[str, np.ndarray]:
    """The bundled model's weights by HDF5 path (``layers/dense/vars/0``...)."""
    with zipfile.ZipFile(bundled_model_path()) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as h5:
        out: dict[str, np.ndarray] = {}
        h5.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        return out


def h5_bytes(build) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        build(h5)
    return buf.getvalue()


def arrays_h5(arrays: dict[str, np.ndarray]) -> bytes:
    return h5_bytes(lambda h5: [h5.create_dataset(name, data=a) for name, a in arrays.items()])


def keras_file(path: Path, config, weights: bytes | None = None, method: int = zipfile.ZIP_STORED) -> Path:
    """A ``.keras`` zip: metadata, ``config`` (JSON-encoded unless bytes), and ``weights``."""
    with zipfile.ZipFile(path, "w", method) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", config if isinstance(config, bytes) else json.dumps(config))
        if weights is not None:
            z.writestr("model.weights.h5", weights)
    return path


def sequential(*layers: dict) -> dict:
    """A Keras Sequential config on (28, 28, 1) images."""
    first = {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, 28, 28, 1], "dtype": "float32", "name": "image"},
    }
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "probe", "layers": [first, *layers]},
            "build_config": {"input_shape": [None, 28, 28, 1]}}


_names = itertools.count()


def layer(kind: str, **config) -> dict:
    return {"module": "keras.layers", "class_name": kind, "config": {"name": f"{kind.lower()}_{next(_names)}", **config}}


def chunked_bomb(h5: h5py.File) -> None:
    """One unwritten chunked 65536×65536 float32 array (16 GiB declared, a few bytes stored)."""
    h5.create_dataset("layers/dense/vars/0", shape=(65536, 65536), dtype="float32", chunks=(1024, 1024))
    h5.create_dataset("layers/dense/vars/1", shape=(128,), dtype="float32")


def with_weight(name: str, change) -> dict[str, np.ndarray]:
    arrays = cnn_arrays()
    arrays[name] = change(arrays[name].copy())
    return arrays


def poison(value: float):
    def change(a: np.ndarray) -> np.ndarray:
        a.flat[a.size // 2] = value
        return a

    return change




def run_cli(*args: str | Path, address_space: int = CLI_ADDRESS_SPACE) -> tuple[int, str, str, int]:
    """``digitscope ARGS`` under an address-space limit: (exit status, stdout, stderr, peak RSS)."""
    return run_cli_bounded(*args, address_space=address_space, env={"TF_CPP_MIN_LOG_LEVEL": "3"})


def assert_refused(result: tuple[int, str, str, int], fragment: str) -> None:
    status, out, err, peak = result
    assert "Traceback" not in err and "MemoryError" not in err, err[-2000:]
    assert status == 2, (status, out, err[-2000:])
    assert fragment in err, err[-2000:]
    assert 0 < peak < PEAK_RSS


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    """The issue's zip bombs, with the CNN's config: 8 GiB of zeros as bzip2 (a 13 KB file), and
    2 GiB as deflate (2 MB, which the old code read three times)."""
    folder = tmp_path_factory.mktemp("bombs")
    head = [stored("metadata.json", b"{}"), stored("config.json", json.dumps(cnn_config()).encode())]
    bzip = ("model.weights.h5", zipfile.ZIP_BZIP2, bzip2_zeros(8 * GiB), 8 * GiB, zeros_crc32(8 * GiB))
    deflate = ("model.weights.h5", zipfile.ZIP_DEFLATED, deflated_zeros(2 * GiB), 2 * GiB, zeros_crc32(2 * GiB))
    return {
        "bzip2": write_raw_zip(folder / "bzip2.keras", [*head, bzip]),
        "deflate": write_raw_zip(folder / "deflate.keras", [*head, deflate]),
        "chunked": keras_file(folder / "chunked.keras", cnn_config(), h5_bytes(chunked_bomb), zipfile.ZIP_DEFLATED),
    }


BOMB_MESSAGES = {
    "bzip2": "compressed with method 12; model files are stored or deflated",
    "deflate": "model.weights.h5 inside unpacks to 2 GiB",
    "chunked": "weights declare more than 64 MiB (layers/dense/vars/0 alone is 65536×65536 float32)",
}

# ----------------------------------------------------------------------------- memory


def test_bombs_are_what_the_issue_describes(bombs):
    assert bombs["bzip2"].stat().st_size < 20_000 and bombs["deflate"].stat().st_size < 2_500_000
    assert bombs["chunked"].stat().st_size < 2_000
    for bomb, size in (("bzip2", 8 * GiB), ("deflate", 2 * GiB)):
        with zipfile.ZipFile(bombs[bomb]) as z:
            assert z.getinfo("model.weights.h5").file_size == size
    # real streams of zeros, checked in part (zipfile would unpack gigabytes of bzip2 in one call)
    assert bz2.BZ2Decompressor().decompress(bzip2_zeros(8 * GiB), 64 * MiB) == bytes(64 * MiB)
    inflate = zlib.decompressobj(-15)
    assert inflate.decompress(deflated_zeros(2 * GiB), 64 * MiB) == bytes(64 * MiB)


@pytest.mark.parametrize("bomb", sorted(BOMB_MESSAGES))
def test_predict_refuses_a_bomb_before_unpacking_it(bombs, bomb, tmp_path):
    assert_refused(run_cli("predict", "--model", bombs[bomb], bar_png(tmp_path / "one.png")), BOMB_MESSAGES[bomb])


@pytest.mark.parametrize("command", [["evaluate"], ["serve", "--port", "0"], ["export", "OUT"]])
def test_every_command_refuses_the_bombs(bombs, command, tmp_path):
    command = [str(tmp_path / "export") if a == "OUT" else a for a in command]
    for bomb, fragment in BOMB_MESSAGES.items():
        assert_refused(run_cli(*command, "--model", bombs[bomb]), fragment)
    assert not (tmp_path / "export").exists()


def test_the_loader_refuses_the_bombs_in_process(bombs):
    for bomb in BOMB_MESSAGES:
        with pytest.raises(ModelFileError, match="64 MiB|method 12"):
            load_predictor(bombs[bomb])


def test_the_app_loader_reports_a_bomb(qtbot, tmp_path):
    """Load model and Compare with model both go through ModelLoader: a message, no exception.
    (A 200 MiB bomb: small enough that a regression here cannot hurt the test process.)"""
    from digitscope.app.workers import ModelLoader

    head = [stored("config.json", json.dumps(cnn_config()).encode())]
    weights = ("model.weights.h5", zipfile.ZIP_DEFLATED, deflated_zeros(200 * MiB), 200 * MiB, zeros_crc32(200 * MiB))
    path = write_raw_zip(tmp_path / "bomb.keras", [*head, weights])
    loader = ModelLoader()
    with qtbot.waitSignal(loader.failed, timeout=30000) as failed, qtbot.assertNotEmitted(loader.loaded):
        loader.load(path)
    assert loader.wait()
    assert failed.args[0] == str(path) and "unpacks to 200 MiB" in failed.args[1]


def test_waiting_for_a_load_needs_no_event_loop(qtbot, tmp_path):
    """Closing the app waits for a load under way while the GUI thread is blocked: the load's
    thread must end all the same (a thread still running when its QThread goes aborts the app)."""
    from digitscope.app.workers import ModelLoader

    loader = ModelLoader()
    loader.load(tmp_path / "missing.keras")
    assert loader.wait(10000), "the loader's thread was still running"
    with qtbot.waitSignal(loader.failed, timeout=5000):
        pass


def test_a_load_that_fails_at_once_is_still_reported(qtbot, tmp_path, monkeypatch):
    """A load can fail before ``load`` returns (a garbage file, TensorFlow already imported):
    the failure must reach the window all the same. Here every thread runs to its end inside
    ``start``, the worst case of that race."""
    from digitscope.app import workers
    from PySide6.QtCore import QThread

    class FinishesAtOnce(QThread):
        def start(self, *args) -> None:
            super().start(*args)
            assert self.wait(10000)

    monkeypatch.setattr(workers, "QThread", FinishesAtOnce)
    monkeypatch.setattr(workers, "_load", lambda path: (_ for _ in ()).throw(ValueError(f"{path.name} is not a model")))
    loader = workers.ModelLoader()
    with qtbot.waitSignal(loader.failed, timeout=5000) as failed:
        loader.load(tmp_path / "garbage.keras")
    assert failed.args == [str(tmp_path / "garbage.keras"), "garbage.keras is not a model"]


def test_a_config_that_asks_keras_for_gigabytes_is_refused(tmp_path):
    """Keras builds the model before it reads a weight: a 1,000,000-unit Dense layer is 3 GB."""
    config = sequential(
        layer("Flatten"), layer("Dense", units=1_000_000, activation="tanh"), layer("Dense", units=10, activation="softmax")
    )
    path = keras_file(tmp_path / "wide.keras", config, arrays_h5({"layers/dense/vars/0": np.zeros((784, 4), np.float32)}))
    assert_refused(
        run_cli("predict", "--model", path, bar_png(tmp_path / "one.png"), address_space=KERAS_ADDRESS_SPACE),
        "its config.json describes 3.0 GiB of weights",
    )


def test_a_config_whose_layer_outputs_are_huge_is_refused(tmp_path):
    config = sequential(layer("UpSampling2D", size=[40, 40]), layer("Conv2D", filters=1, kernel_size=[3, 3]),
                        layer("GlobalMaxPooling2D"), layer("Dense", units=10, activation="softmax"))
    path = keras_file(tmp_path / "tall.keras", config, arrays_h5({}))
    assert_refused(
        run_cli("predict", "--model", path, bar_png(tmp_path / "one.png"), address_space=KERAS_ADDRESS_SPACE),
        "outputs 4.8 MiB for each image",
    )


# ----------------------------------------------------------------------------- archive and HDF5 layout


def test_only_keras_zips_are_loaded(tmp_path):
    """A file that is both a legacy HDF5 model with a Lambda and a zip with config.json, named .h5,
    is refused by name: it never reaches Keras (whose legacy HDF5 loader ignored safe_mode)."""
    marker = tmp_path / "lambda-ran"
    code = f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]"
    import base64
    import marshal

    function = base64.b64encode(marshal.dumps(eval(code).__code__)).decode("ascii")
    lambda_function = {"class_name": "__lambda__", "config": {"code": function, "defaults": None, "closure": None}}
    legacy = sequential(
        layer("Lambda", function=lambda_function, arguments={}), layer("Flatten"), layer("Dense", units=10, activation="softmax")
    )

    def build(h5: h5py.File) -> None:
        h5.attrs.update({"model_config": json.dumps(legacy), "keras_version": "3.11.2", "backend": "tensorflow"})
        h5.create_group("model_weights")

    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("config.json", json.dumps(legacy))
    path = tmp_path / "polyglot.h5"
    path.write_bytes(h5_bytes(build) + zipped.getvalue())
    assert h5py.is_hdf5(path) and zipfile.is_zipfile(path)
    probe = (
        "import sys\nfrom digitscope.model.inference import load_predictor\n"
        f"try:\n    load_predictor({str(path)!r})\nexcept ValueError as exc:\n    print(exc)\n"
        "print('keras imported' if 'keras' in sys.modules else 'keras not imported')\n"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.stdout.splitlines() == [f"{path} is not a Keras model file: model files end in .keras", "keras not imported"], r.stderr
    assert not marker.exists()


@pytest.mark.parametrize(
    "config, message",
    [
        ([1, 2], "its config.json holds a list, not a Keras model configuration"),
        ({"class_name": "Sequential", "config": []}, 'in its config.json, "config" is a list, not an object'),
        ({"class_name": "Sequential", "config": {"layers": {"a": 1}}}, '"layers" is an object, not a list'),
        ({"class_name": "Sequential", "config": {"layers": [1, "x"]}}, "layer 1 is a number, not an object"),
        ("NULL-CONV", 'layer 2 has no settings (its "config" is null)'),
        (b"[" * 100_000, "its config.json is not valid JSON: it is nested too deeply"),
        (b"\xff\xfe{", "its config.json is not valid JSON"),
    ],
)
def test_malformed_configs_are_clear_errors(config, message, tmp_path):
    if config == "NULL-CONV":  # the CNN's config with one layer's settings null
        config = cnn_config()
        config["config"]["layers"][1]["config"] = None
    path = keras_file(tmp_path / "m.keras", config, arrays_h5(cnn_arrays()))
    with pytest.raises(ModelFileError) as info:
        load_predictor(path)
    assert message in str(info.value)


def test_cli_reports_a_malformed_config_without_a_traceback(tmp_path):
    path = keras_file(tmp_path / "m.keras", [1, 2], arrays_h5(cnn_arrays()))
    assert_refused(run_cli("predict", "--model", path, bar_png(tmp_path / "one.png")), "config.json holds a list")


def external_storage(tmp_path: Path):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(10, np.float32).tobytes())
    return lambda h5: h5.create_dataset("layers/dense/vars/0", shape=(10,), dtype="float32", external=[(str(secret), 0, 40)])


def virtual(h5: h5py.File) -> None:
    layout = h5py.VirtualLayout(shape=(10,), dtype="float32")
    layout[:] = h5py.VirtualSource("elsewhere.h5", "data", shape=(10,))
    h5.create_virtual_dataset("layers/dense/vars/0", layout)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda h5: h5.create_dataset("layers/dense", data=np.zeros(3)), "layers/dense is an array outside a vars group"),
        (lambda h5: h5.__setitem__("layers", h5py.ExternalLink("other.h5", "/layers")), "has a link (layers) to data elsewhere"),
        (lambda h5: [h5.create_group("real"), h5.__setitem__("layers", h5py.SoftLink("/real"))], "has a link (layers) to data elsewhere"),
        ("EXTERNAL", "layers/dense/vars/0 in its weights is stored outside the file"),
        (virtual, "layers/dense/vars/0 in its weights is stored outside the file"),
        (lambda h5: h5.create_dataset("layers/dense/vars/0", data=["a", "b"]), "is not an array of numbers"),
        (lambda h5: h5.create_dataset("layers/dense/vars/0", data=np.zeros(4), compression="lzf"), "uses an HDF5 filter"),
        (lambda h5: [h5.create_group(f"layers/g{i}") for i in range(10_001)], "holds more than 10000 objects"),
    ],
)
def test_weights_files_with_odd_layouts_are_refused(build, message, tmp_path):
    build = external_storage(tmp_path) if build == "EXTERNAL" else build
    path = keras_file(tmp_path / "m.keras", cnn_config(), h5_bytes(build))
    with pytest.raises(ModelFileError) as info:
        load_predictor(path)
    assert message in str(info.value)


def test_archive_limits(tmp_path):
    weights = arrays_h5(cnn_arrays())
    many = tmp_path / "many.keras"
    keras_file(many, cnn_config(), weights)
    with zipfile.ZipFile(many, "a") as z:
        for i in range(70):
            z.writestr(f"assets/{i}", "")
    big_config = keras_file(tmp_path / "big.keras", b" " * (5 * MiB) + json.dumps(cnn_config()).encode(), weights, zipfile.ZIP_DEFLATED)
    no_weights = keras_file(tmp_path / "none.keras", cnn_config())
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    for path, message in [
        (many, "holds 73 files"),
        (big_config, "config.json inside unpacks to 5.0 MiB"),
        (no_weights, "it has no model.weights.h5"),
        (folder, "is a folder, not a model file"),
        (tmp_path / "absent.keras", "model file not found"),
    ]:
        with pytest.raises(ModelFileError, match=message):
            load_predictor(path)


def test_a_large_file_on_disk_is_refused_unread(tmp_path):
    path = tmp_path / "huge.keras"
    with open(path, "wb") as fh:
        fh.truncate(200 * MiB)  # sparse: costs no disk
    with pytest.raises(ModelFileError, match="is 200 MiB: too large"):
        load_predictor(path)


# ----------------------------------------------------------------------------- weights


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_cnn_weights_are_refused(value, tmp_path):
    path = keras_file(tmp_path / "m.keras", cnn_config(), arrays_h5(with_weight("layers/dense/vars/0", poison(value))))
    with pytest.raises(ModelFileError, match=r"1 of the weights in layers/dense/vars/0 are not numbers \(NaN or infinite\)"):
        load_predictor(path)


def test_weights_that_overflow_float32_are_refused(tmp_path):
    arrays = with_weight("layers/conv2d/vars/1", lambda a: a.astype(np.float64))
    arrays["layers/conv2d/vars/1"][0] = 1e300
    with pytest.raises(ModelFileError, match="not numbers"):
        load_predictor(keras_file(tmp_path / "m.keras", cnn_config(), arrays_h5(arrays)))


def dense_config(activation: str = "relu") -> dict:
    return sequential(layer("Flatten"), layer("Dense", units=4, activation=activation), layer("Dense", units=10, activation="softmax"))


def dense_arrays(bad: float = 0.0) -> dict[str, np.ndarray]:
    kernel = np.full((784, 4), 0.01, np.float32)
    kernel[5, 1] = bad
    return {"layers/dense/vars/0": kernel, "layers/dense/vars/1": np.zeros(4, np.float32),
            "layers/dense_1/vars/0": np.full((4, 10), 0.1, np.float32), "layers/dense_1/vars/1": np.zeros(10, np.float32)}


def test_a_dense_network_is_read_and_checked(tmp_path):
    good = load_predictor(keras_file(tmp_path / "good.keras", dense_config(), arrays_h5(dense_arrays())))
    assert good.dense is not None and good.parameter_count == 784 * 4 + 4 + 4 * 10 + 10
    with pytest.raises(ModelFileError, match="1 of the weights in layers/dense/vars/0 are not numbers"):
        load_predictor(keras_file(tmp_path / "nan.keras", dense_config(), arrays_h5(dense_arrays(np.nan))))
    wrong = dense_arrays()
    wrong["layers/dense_1/vars/0"] = np.zeros((5, 10), np.float32)
    with pytest.raises(ModelFileError, match=r"layer dense_1 has 5×10, 10, expected 4×10, 10"):
        load_predictor(keras_file(tmp_path / "wrong.keras", dense_config(), arrays_h5(wrong)))


def test_non_finite_weights_of_a_keras_only_model_are_refused_before_keras(tmp_path):
    """tanh is not read in NumPy: the file goes to Keras, but its weights are checked first."""
    path = keras_file(tmp_path / "tanh.keras", dense_config("tanh"), arrays_h5(dense_arrays(np.inf)))
    probe = (
        "import sys\nfrom digitscope.model.inference import load_predictor\n"
        f"try:\n    load_predictor({str(path)!r})\nexcept ValueError as exc:\n    print(exc)\n"
        "print('keras imported' if 'keras' in sys.modules else 'keras not imported')\n"
    )
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert r.stdout.splitlines() == [f"{path}: 1 of the weights in layers/dense/vars/0 are not numbers (NaN or infinite)",
                                     "keras not imported"], r.stderr


def test_predict_json_never_writes_nan(tmp_path):
    path = keras_file(tmp_path / "nan.keras", cnn_config(), arrays_h5(with_weight("layers/dense/vars/0", poison(np.nan))))
    status, out, err, _ = run_cli("predict", "--json", "--model", path, bar_png(tmp_path / "one.png"))
    assert status == 2 and out == "" and "not numbers (NaN or infinite)" in err and "Traceback" not in err


def test_a_shape_mismatch_is_one_line(tmp_path):
    arrays = with_weight("layers/dense/vars/0", lambda a: a[:, :100])
    arrays["layers/dense/vars/1"] = arrays["layers/dense/vars/1"][:100]
    with pytest.raises(ModelFileError) as info:
        load_predictor(keras_file(tmp_path / "m.keras", cnn_config(), arrays_h5(arrays)))
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    assert "layer dense has 9216×100, 100" in message


def test_keras_errors_are_one_line(tmp_path):
    """A model only Keras reads, whose weights do not fit it: Keras's message prints the array."""
    import keras
    from digitscope.model.modelfile import load_keras_model

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="tanh")])
    model.save(tmp_path / "tanh.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "tanh.keras").read("config.json"))
    path = keras_file(tmp_path / "wrong.keras", config, arrays_h5({"layers/dense/vars/0": np.ones((784, 12), np.float32),
                                                                    "layers/dense/vars/1": np.ones(10, np.float32)}))
    with pytest.raises(ModelFileError) as info:
        load_keras_model(path)
    message = str(info.value)
    assert "\n" not in message and "[[" not in message and len(message) - len(str(path)) <= 400
    assert "variable.shape=(784, 10), Received: value.shape=(784, 12)" in message


def test_the_loader_reads_each_member_once(tmp_path, monkeypatch):
    """A model neither the CNN nor Dense reader takes (tanh) is still read once, and checked."""
    reads = []
    real = zipfile.ZipFile.read
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda self, name, pwd=None: reads.append(name) or real(self, name, pwd))
    with pytest.raises(ModelFileError, match="not numbers"):
        load_predictor(keras_file(tmp_path / "tanh.keras", dense_config("tanh"), arrays_h5(dense_arrays(np.nan))))
    assert sorted(reads) == ["config.json", "model.weights.h5"]


def test_declared_weights_are_bounded_before_any_is_read():
    archive = read_model_file(bundled_model_path())
    assert sum(int(np.prod(s)) for s in archive.shapes.values()) * 4 < MAX_WEIGHTS_BYTES
    assert archive.shapes["layers/dense/vars/0"] == (9216, 128)


# ----------------------------------------------------------------------------- the rest


@pytest.mark.parametrize("version, ok", [("3.11.2", False), ("3.15.0", False), ("3.15.1", True), ("3.16.0.dev2026", True), ("4.0.0", True)])
def test_keras_versions_with_known_load_flaws_are_refused(version, ok):
    if ok:
        check_keras_version(version)
    else:
        with pytest.raises(ModelFileError, match=f"Keras {version} has known flaws.*keras>=3.15.1"):
            check_keras_version(version)


def test_hostile_metadata_beside_a_model_is_ignored(tmp_path):
    model = tmp_path / "m.keras"
    model.with_suffix(".json").write_text("[" * 100_000)
    assert read_metadata(model) == {}
    with open(model.with_suffix(".json"), "wb") as fh:
        fh.truncate(100 * MiB)
    assert read_metadata(model) == {}
