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
