"""Build the packaged app: a one-folder ``dist/Digitscope/`` and its release archive.

    python packaging/build.py [--naive] [--no-self-test]

Needs the ``package`` extra (``pip install ".[package]"``: PyInstaller). Steps:

1. stage a regular install of this checkout in ``build/stage`` (``pip install
   --no-deps --target``; PyInstaller cannot see through an editable install);
2. run ``packaging/digitscope.spec`` → ``dist/Digitscope/``;
3. on Linux, add ``digitscope.desktop``, ``install-desktop-entry.sh`` and the icon;
4. write ``dist/Digitscope-<version>-<os>-<machine>.tar.xz`` (``.zip`` on Windows and macOS);
5. on Debian-like systems (``dpkg-deb`` present), write ``dist/digitscope_<version>_<arch>.deb``
   (``packaging/deb.py``);
6. run ``Digitscope --self-test`` on the result;
7. print the sizes and the ten largest files.

``--naive`` also builds, for comparison, what ``pyinstaller --onedir`` makes of
the entry point with no spec (``dist-naive/digitscope-naive``; its one extra
flag, ``--add-data`` of the assets folder, only brings the model file along).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
STAGE = ROOT / "build" / "stage"
DIST = ROOT / "dist"
NAIVE_DIST = ROOT / "dist-naive"
XZ_PRESET = 9  # 64 MiB dictionary: TensorFlow's libraries share more across it than -6's 8 MiB


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def stage() -> None:
    shutil.rmtree(STAGE, ignore_errors=True)
    run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--target", str(STAGE), str(ROOT)])


def version() -> str:
    sys.path.insert(0, str(STAGE))
    from digitscope import __version__

    return __version__


def executable(folder: Path, name: str) -> Path:
    return folder / (f"{name}.exe" if sys.platform == "win32" else name)


def build_app() -> Path:
    env = dict(os.environ, DIGITSCOPE_STAGE=str(STAGE))
    run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--distpath", str(DIST),
         "--workpath", str(ROOT / "build" / "pyinstaller"), str(PACKAGING / "digitscope.spec")], env=env)
    app = DIST / "Digitscope"
    if sys.platform.startswith("linux"):
        for name in ("digitscope.desktop", "install-desktop-entry.sh"):
            shutil.copy2(PACKAGING / name, app / name)
        shutil.copy2(STAGE / "digitscope" / "assets" / "digitscope.png", app / "digitscope.png")
    return app


def build_naive() -> Path:
    work = ROOT / "build" / "naive"
    run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--onedir", "--name", "digitscope-naive",
         "--paths", str(STAGE), "--add-data", f"{STAGE / 'digitscope' / 'assets'}{os.pathsep}digitscope/assets",
         "--distpath", str(NAIVE_DIST), "--workpath", str(work), "--specpath", str(work),
         str(STAGE / "digitscope" / "__main__.py")])
    return NAIVE_DIST / "digitscope-naive"


def archive(app: Path, ver: str, name: str = "Digitscope") -> Path:
    """``<name>-<version>-<os>-<machine>.tar.xz`` (or ``.zip``) of ``app``, beside it, written atomically."""
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform.rstrip("0123456789"))
    stem = f"{name}-{ver}-{system}-{platform.machine().lower()}"
    zipped = sys.platform in ("win32", "darwin")
    target = app.parent / (stem + (".zip" if zipped else ".tar.xz"))
    fd, tmp = tempfile.mkstemp(dir=app.parent, suffix=".part")
    os.close(fd)
    try:
        if zipped:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
                for path in sorted(app.rglob("*")):
                    z.write(path, Path(app.name) / path.relative_to(app))
        else:
            write_tar_xz(app, tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def write_tar_xz(folder: Path, out: str) -> None:
    """``folder`` as a .tar.xz: through the ``xz`` tool on all cores when it is installed, else Python's lzma."""
    xz = shutil.which("xz")
    if xz is None:
        with tarfile.open(out, "w:xz", preset=XZ_PRESET) as t:
            t.add(folder, arcname=folder.name)
        return
    with open(out, "wb") as fh:
        proc = subprocess.Popen([xz, f"-{XZ_PRESET}", "--threads=0", "-c"], stdin=subprocess.PIPE, stdout=fh)
        try:
            with tarfile.open(fileobj=proc.stdin, mode="w|") as t:
                t.add(folder, arcname=folder.name)
        finally:
            proc.stdin.close()
            status = proc.wait()
    if status:
        raise RuntimeError(f"xz failed (exit {status})")


def files_by_size(folder: Path) -> list[tuple[int, str]]:
    """(size, path inside ``folder``) of every regular file, largest first (links not counted)."""
    files = [(p.stat().st_size, str(p.relative_to(folder))) for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sorted(files, reverse=True)


def mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def report_folder(title: str, folder: Path, arch: Path | None) -> None:
    files = files_by_size(folder)
    print(
        f"\n{title} {folder}: {mb(sum(size for size, _ in files))}" + (f"; archive {arch.name}: {mb(arch.stat().st_size)}" if arch else "")
    )
    print("ten largest files:")
    for size, name in files[:10]:
        print(f"  {mb(size):>9}  {name}")


def report(app: Path, arch: Path | None, naive: Path | None, naive_arch: Path | None, deb: Path | None) -> None:
    report_folder("packaged app", app, arch)
    if deb is not None:
        print(f"Debian package {deb.name}: {mb(deb.stat().st_size)}")
    if naive is not None:
        report_folder("naive build", naive, naive_arch)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--naive", action="store_true", help="also build the naive comparison (dist-naive/)")
    ap.add_argument("--no-self-test", action="store_true", help="skip running the built app's self-test")
    ap.add_argument("--no-archive", action="store_true", help="skip the release archive")
    ap.add_argument("--no-deb", action="store_true", help="skip the .deb (built where dpkg-deb is installed)")
    args = ap.parse_args()
    t0 = time.monotonic()
    stage()
    ver = version()
    app = build_app()
    print(f"built {app} in {time.monotonic() - t0:.0f} s", flush=True)
    arch = None if args.no_archive else archive(app, ver)
    deb = None
    if not args.no_deb and sys.platform.startswith("linux") and shutil.which("dpkg-deb"):
        from deb import build_deb  # packaging/deb.py, beside this script

        deb = build_deb(app, ver, PACKAGING / "digitscope.desktop", app / "digitscope.png", DIST, ROOT / "build" / "deb")
    naive = build_naive() if args.naive else None
    naive_arch = archive(naive, ver, "digitscope-naive") if naive is not None and not args.no_archive else None
    status = 0
    if not args.no_self_test:
        status = subprocess.run([str(executable(app, "Digitscope")), "--self-test"]).returncode
    report(app, arch, naive, naive_arch, deb)
    print(f"\ntotal {time.monotonic() - t0:.0f} s; self-test {'skipped' if args.no_self_test else ('passed' if status == 0 else 'FAILED')}")
    return status


if __name__ == "__main__":
    sys.exit(main())
