"""The installable distribution: every sub-package and asset ships."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setuptools_config() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]


def test_every_package_folder_is_in_the_distribution():
    """`pip install .` (not -e) ships only the listed packages: a forgotten one breaks the app."""
    cfg = setuptools_config()
    listed = set(cfg["packages"])
    found = set()
    for name, folder in cfg["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            found.add(".".join([name, *rel.parts]))
    assert found - listed == set(), "package folders missing from [tool.setuptools] packages"
    assert listed - found == set(), "listed packages with no folder"


def test_every_asset_matches_package_data():
    cfg = setuptools_config()
    patterns = cfg["package-data"]["digitscope.assets"]
    assets = [p for p in (ROOT / "assets").iterdir() if p.is_file() and p.suffix != ".py"]
    unshipped = [p.name for p in assets if not any(p.match(pat) for pat in patterns)]
    assert unshipped == []


def test_the_app_icon_ships_in_the_assets(qapp):
    from digitscope.model.modelfile import assets_dir
    from PySide6.QtGui import QImage

    png = QImage(str(assets_dir() / "digitscope.png"))
    assert (png.width(), png.height()) == (256, 256)
    ico = QImage(str(assets_dir() / "digitscope.ico"))
    assert not ico.isNull()


def load_build_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("digitscope_build", ROOT / "packaging" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_release_archive_holds_the_app_folder_and_is_written_atomically(tmp_path):
    import sys
    import tarfile
    import zipfile

    build = load_build_script()
    app = tmp_path / "Digitscope"
    (app / "_internal").mkdir(parents=True)
    (app / "Digitscope").write_bytes(b"\x7fELF...")
    (app / "_internal" / "lib.so").write_bytes(b"x" * 1000)
    target = build.archive(app, "9.9.9")
    assert target.parent == tmp_path and "Digitscope-9.9.9-" in target.name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["Digitscope", target.name]), "no temp file left"
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)
    if target.suffix == ".zip":
        names = zipfile.ZipFile(target).namelist()
    else:
        names = tarfile.open(target).getnames()
    assert {"Digitscope/Digitscope", "Digitscope/_internal/lib.so"} <= {n.replace("\\", "/") for n in names}
    assert (target.suffix == ".zip") == (sys.platform in ("win32", "darwin"))
