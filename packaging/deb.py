"""The ``.deb`` of the packaged app, for Debian and Ubuntu (``dpkg-deb``, no network).

    digitscope_<version>_<arch>.deb
      /opt/digitscope/                              the one-folder app (dist/Digitscope)
      /usr/bin/digitscope                           → /opt/digitscope/Digitscope
      /usr/share/applications/digitscope.desktop    the menu entry
      /usr/share/icons/hicolor/256x256/apps/digitscope.png
      /usr/share/doc/digitscope/copyright

``Depends:`` is worked out from the bundle itself, as ``dpkg-shlibdeps`` would: every
shared library a bundled ELF file names (``DT_NEEDED``) that the bundle does not
carry is a system library, and the package that owns it on this machine (``dpkg -S``)
becomes a dependency. A library this machine lacks gets the name Debian policy gives
its package (``libxcb-cursor.so.0`` → ``libxcb-cursor0``). ``libc6`` gets the newest
``GLIBC_`` symbol version the bundle uses as its floor. No maintainer scripts: the
desktop database and icon cache are refreshed by dpkg triggers, and removing the
package removes every file it installed (the app never writes into its folder).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "digitscope"
INSTALL_DIR = Path("opt") / PACKAGE
MAINTAINER = "Digitscope developers <digitscope@users.noreply.github.com>"
SUMMARY = "Draw a digit and watch a convolutional network read it, live"
DESCRIPTION = """\
 Digitscope is a desktop app: draw a digit with the mouse, pen or finger and
 watch a convolutional network read it as you draw, with its probabilities,
 the 28x28 input, both convolution layers' feature maps and saliency. It can be
 retrained from its menu on MNIST and your own drawings, and has a command line
 (digitscope predict, train, evaluate, serve) and a local HTTP API.
 .
 The app and the Python, Qt and TensorFlow it needs are installed under
 /opt/digitscope; the command is digitscope."""
COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: digitscope

Files: *
Copyright: Digitscope developers
License: MIT

Files: opt/digitscope/_internal/*
Copyright: the respective authors of Python, Qt for Python (PySide6), Qt, TensorFlow,
 Keras, NumPy, Pillow, h5py, pyqtgraph and their dependencies
License: various
 Each bundled component is distributed under its own license; the licenses
 that ship with the components are kept beside them in /opt/digitscope/_internal.

Files: opt/digitscope/_internal/digitscope/assets/digitscope-cnn.*
Copyright: Digitscope developers
License: MIT
Comment: The bundled model's weights were learnt from MNIST (Y. LeCun, C. Cortes,
 C. J. C. Burges; CC BY-SA 3.0) and from UNIPEN train_r01_v07 pen-written digits and
 letters (UNIPEN consortium; I. Guyon, L. Schomaker, R. Plamondon, M. Liberman,
 S. Janet; CC BY 4.0). No image or drawing of either data set is shipped.

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of
 this software and associated documentation files (the "Software"), to deal in
 the Software without restriction, including without limitation the rights to
 use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
 the Software, and to permit persons to whom the Software is furnished to do so,
 subject to the following conditions: the above copyright notice and this
 permission notice shall be included in all copies or substantial portions of
 the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
"""

_ELF64_LE = b"\x7fELF\x02\x01"
_PT_LOAD, _PT_DYNAMIC = 1, 2
_DT_NULL, _DT_NEEDED, _DT_STRTAB = 0, 1, 5
_GLIBC = re.compile(rb"GLIBC_2\.([0-9]{1,3})\b")


def is_elf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"\x7fELF"


def elf_needed(path: Path) -> list[str]:
    """The ``DT_NEEDED`` entries (shared libraries it links) of a 64-bit little-endian ELF file."""
    return _needed_in(path.read_bytes())


def _needed_in(data: bytes) -> list[str]:
    if not data.startswith(_ELF64_LE):
        return []
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads, dynamic = [], None
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return []  # statically linked
    entries, strtab = [], None
    for off in range(dynamic[0], dynamic[0] + dynamic[1] - 15, 16):
        tag, value = struct.unpack_from("<qQ", data, off)
        if tag == _DT_NULL:
            break
        if tag == _DT_NEEDED:
            entries.append(value)
        elif tag == _DT_STRTAB:
            strtab = next((value - vaddr + offset for vaddr, offset, size in loads if vaddr <= value < vaddr + size), None)
    if strtab is None:
        return []
    return [data[strtab + e:data.index(b"\0", strtab + e)].decode("ascii", "replace") for e in entries]


def bundle_elves(app: Path) -> list[Path]:
    return sorted(p for p in app.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p))


@dataclass(frozen=True)
class BundleLinks:
    """What the bundle's ELF files need of the system, each file read once."""

    #: Sonames they link that the bundle does not carry (Qt's own optional modules aside).
    system: frozenset[str]
    #: The newest ``GLIBC_2.x`` symbol version any of them refers to.
    glibc: str | None


def bundle_links(app: Path) -> BundleLinks:
    """What the bundle in ``app`` needs of the system (see :class:`BundleLinks`)."""
    carried = {p.name for p in app.rglob("*.so*")}
    needed: set[str] = set()
    minors: set[int] = set()
    for path in bundle_elves(app):
        data = path.read_bytes()
        needed.update(_needed_in(data))
        minors.update(int(m) for m in _GLIBC.findall(data))
    system = frozenset(name for name in needed if name not in carried and not name.startswith("libQt6"))
    return BundleLinks(system, f"2.{max(minors)}" if minors else None)


def policy_name(soname: str) -> str:
    """The package Debian policy names for a library: ``libfoo.so.1`` → ``libfoo1``, ``libfoo2.so.0`` → ``libfoo2-0``."""
    stem, _, version = soname.partition(".so.")
    stem = stem.lower().replace("_", "-")
    if not version:
        return stem
    major = version.split(".")[0]
    return f"{stem}-{major}" if stem[-1].isdigit() else f"{stem}{major}"


def _library_paths() -> dict[str, list[str]]:
    """soname → paths, from the dynamic linker's cache (``ldconfig -p``)."""
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) \((.*)\) => (\S+)", line)
        if m and ("x86-64" in m.group(2) or "64" in m.group(2)):
            found.setdefault(m.group(1), []).append(m.group(3))
    return found


def _owner(path: str) -> str | None:
    """The package that owns ``path`` (trying its /usr-merged twin and its target too)."""
    real = os.path.realpath(path)
    candidates = [path, real]
    candidates += [c.removeprefix("/usr") if c.startswith("/usr/") else "/usr" + c for c in (path, real)]
    for candidate in dict.fromkeys(candidates):
        done = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
        if done.returncode == 0 and ":" in done.stdout:
            return done.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def depends(app: Path) -> tuple[list[str], list[str]]:
    """(the ``Depends:`` packages, the sonames named by policy because this machine lacks them)."""
    paths = _library_paths()
    packages: set[str] = set()
    guessed: list[str] = []
    links = bundle_links(app)
    for soname in sorted(links.system):
        owner = next((o for o in map(_owner, paths.get(soname, [])) if o), None)
        if owner is None:
            guessed.append(soname)
            owner = policy_name(soname)
        packages.add(owner)
    floor = links.glibc
    listed = sorted(packages - {"libc6"})
    return [f"libc6 (>= {floor})" if floor else "libc6", *listed], guessed


def architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def _normalise_modes(root: Path) -> None:
    """0755 for folders and executables, 0644 for the rest (what dpkg expects)."""
    for p in [root, *root.rglob("*")]:
        if p.is_symlink():
            continue
        executable = p.is_dir() or bool(p.stat().st_mode & 0o111)
        os.chmod(p, 0o755 if executable else 0o644)


def stage_tree(app: Path, desktop: Path, icon: Path, root: Path) -> None:
    """The installed file tree of the package under ``root``."""
    shutil.copytree(app, root / INSTALL_DIR, symlinks=True,
                    ignore=shutil.ignore_patterns("digitscope.desktop", "install-desktop-entry.sh", "digitscope.png"))
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / PACKAGE).symlink_to(Path("/") / INSTALL_DIR / "Digitscope")
    apps = root / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    entry = re.sub(r"(?m)^Exec=.*$", f"Exec={PACKAGE}", desktop.read_text(encoding="utf-8"))
    entry = re.sub(r"(?m)^Icon=.*$", f"Icon={PACKAGE}", entry)
    (apps / f"{PACKAGE}.desktop").write_text(entry, encoding="utf-8")
    icons = root / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps"
    icons.mkdir(parents=True)
    shutil.copy2(icon, icons / f"{PACKAGE}.png")
    doc = root / "usr" / "share" / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT, encoding="utf-8")


def control(version: str, arch: str, installed_kib: int, deps: list[str]) -> str:
    return (
        f"Package: {PACKAGE}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: {MAINTAINER}\n"
        f"Installed-Size: {installed_kib}\nDepends: {', '.join(deps)}\nSection: science\nPriority: optional\n"
        f"Description: {SUMMARY}\n{DESCRIPTION}\n"
    )


def build_deb(app: Path, version: str, desktop: Path, icon: Path, out_dir: Path, work: Path) -> Path:
    """Build ``digitscope_<version>_<arch>.deb`` from the one-folder ``app`` into ``out_dir`` (written atomically)."""
    arch = architecture()
    shutil.rmtree(work, ignore_errors=True)
    root = work / "root"
    stage_tree(app, desktop, icon, root)
    deps, guessed = depends(root / INSTALL_DIR)
    if guessed:
        print(f"deb: not on this machine, named by Debian policy: {', '.join(guessed)}", flush=True)
    size = sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir())
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(control(version, arch, -(-size // 1024), deps), encoding="utf-8")
    _normalise_modes(root)
    target = out_dir / f"{PACKAGE}_{version}_{arch}.deb"
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".deb.part")
    os.close(fd)
    try:
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z9", "--build", str(root), tmp], check=True,
                       stdout=subprocess.DEVNULL)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        shutil.rmtree(work, ignore_errors=True)
    print(f"deb: Depends: {', '.join(deps)}", flush=True)
    return target
