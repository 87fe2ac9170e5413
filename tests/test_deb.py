"""packaging/deb.py: the .deb's file tree, control file and Depends worked out from the bundle."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF and .deb are Linux's")


@pytest.fixture(scope="module")
def deb():
    spec = importlib.util.spec_from_file_location("digitscope_deb", ROOT / "packaging" / "deb.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def python_binary() -> Path:
    return Path(os.path.realpath(sys.executable))


def fake_app(tmp_path: Path) -> Path:
    """A one-folder app whose executable is this Python (a real ELF linking libc) and a library it carries."""
    app = tmp_path / "Digitscope"
    (app / "_internal").mkdir(parents=True)
    shutil.copy2(python_binary(), app / "Digitscope")
    (app / "_internal" / "libcarried.so.1").write_bytes(b"not really a library")
    (app / "digitscope.desktop").write_text((ROOT / "packaging" / "digitscope.desktop").read_text())
    (app / "install-desktop-entry.sh").write_text("#!/bin/sh\n")
    return app


@pytest.mark.parametrize(("soname", "package"), [
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    ("libX11-xcb.so.1", "libx11-xcb1"),
    ("libGL.so.1", "libgl1"),
    ("libdbus-1.so.3", "libdbus-1-3"),
    ("libwayland-egl.so.1", "libwayland-egl1"),
])
def test_policy_names_of_libraries(deb, soname, package):
    assert deb.policy_name(soname) == package


@linux
def test_needed_libraries_are_read_from_the_elf_file(deb, tmp_path):
    needed = deb.elf_needed(python_binary())
    assert any(name.startswith("libc.so.") for name in needed)
    assert all(".so" in name for name in needed)
    text = tmp_path / "text"
    text.write_text("#!/bin/sh\n")
    assert deb.elf_needed(text) == []
    assert deb.elf_needed(ROOT / "assets" / "digitscope.png") == []


@linux
def test_system_libraries_leave_out_what_the_bundle_carries(deb, tmp_path):
    app = fake_app(tmp_path)
    links = deb.bundle_links(app)
    libs = links.system
    assert any(name.startswith("libc.so.") for name in libs)
    assert "libcarried.so.1" not in libs
    floor = links.glibc
    assert floor is not None and floor.startswith("2.")


@linux
def test_the_tree_has_the_command_menu_entry_and_icon(deb, tmp_path):
    app = fake_app(tmp_path)
    root = tmp_path / "root"
    deb.stage_tree(app, ROOT / "packaging" / "digitscope.desktop", ROOT / "assets" / "digitscope.png", root)
    assert (root / "opt/digitscope/Digitscope").is_file()
    assert not (root / "opt/digitscope/install-desktop-entry.sh").exists(), "the archive's installer is not the package's"
    assert os.readlink(root / "usr/bin/digitscope") == "/opt/digitscope/Digitscope"
    entry = (root / "usr/share/applications/digitscope.desktop").read_text()
    assert "\nExec=digitscope\n" in entry and "\nIcon=digitscope\n" in entry
    assert (root / "usr/share/icons/hicolor/256x256/apps/digitscope.png").is_file()
    copyright = (root / "usr/share/doc/digitscope/copyright").read_text()
    assert "License: MIT" in copyright and "UNIPEN" in copyright and "CC BY-SA 3.0" in copyright, "credits the data the weights learnt from"
    control = deb.control("1.2.3", "amd64", 4096, ["libc6 (>= 2.31)", "libxcb1"])
    fields = dict(line.split(": ", 1) for line in control.splitlines() if line and not line.startswith(" "))
    assert fields["Package"] == "digitscope" and fields["Version"] == "1.2.3" and fields["Depends"] == "libc6 (>= 2.31), libxcb1"
    assert all(line.startswith(" ") for line in control.splitlines()[list(fields).index("Description") + 1:])


@linux
@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed (not a Debian-like system)")
def test_build_deb_writes_a_valid_package_atomically(deb, tmp_path):
    app = fake_app(tmp_path)
    out = tmp_path / "dist"
    out.mkdir()
    target = deb.build_deb(app, "9.9.9", ROOT / "packaging" / "digitscope.desktop", ROOT / "assets" / "digitscope.png",
                           out, tmp_path / "work")
    assert [p.name for p in out.iterdir()] == [target.name] and target.name.startswith("digitscope_9.9.9_")
    assert not (tmp_path / "work").exists()
    info = subprocess.run(["dpkg-deb", "--field", str(target)], capture_output=True, text=True, check=True).stdout
    assert "Package: digitscope" in info and "Depends: libc6 (>= 2." in info
    listing = subprocess.run(["dpkg-deb", "--contents", str(target)], capture_output=True, text=True, check=True).stdout
    assert "root/root" in listing and "./usr/bin/digitscope -> /opt/digitscope/Digitscope" in listing
    assert "./usr/share/applications/digitscope.desktop" in listing
