"""The built app works moved elsewhere, run by a user who cannot write to its folder.

    python packaging/check_moved.py [dist/Digitscope | dist/Digitscope-<version>-....tar.gz]

Moves the one-folder app (or unpacks the release archive, as a person would)
into a new directory whose name has a space, makes the whole folder read-only, and runs ``Digitscope --self-test`` there as an
unprivileged user: as ``nobody`` when this runs as root (with a fresh HOME),
else as the current user. Then checks that not one file in the folder was
added or changed, and moves the app back (an unpacked archive is deleted). Exit status: the self-test's, or 1
if the folder changed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def set_writable(folder: Path, writable: bool) -> None:
    for p in [folder, *folder.rglob("*")]:
        if p.is_symlink():
            continue
        mode = p.stat().st_mode
        mode = (mode | stat.S_IWUSR) if writable else (mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        os.chmod(p, mode)


def main() -> int:
    app = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "dist" / "Digitscope").resolve()
    name = "Digitscope.exe" if sys.platform == "win32" else "Digitscope"
    unpack = app.is_file()
    if not unpack and not (app / name).is_file():
        print(f"no built app at {app}: python packaging/build.py", file=sys.stderr)
        return 2
    place = Path(tempfile.mkdtemp(prefix="digitscope-moved-")) / "Some Apps"
    place.mkdir()
    home = Path(tempfile.mkdtemp(prefix="digitscope-home-"))
    moved = place / "Digitscope"
    if unpack:
        shutil.unpack_archive(str(app), str(place))
    else:
        shutil.move(str(app), str(moved))
    exe = moved / name
    try:
        for p in (place.parent, place):
            os.chmod(p, 0o755)
        set_writable(moved, False)
        before = snapshot(moved)
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "PYTHONPATH", "VIRTUAL_ENV")}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
                   XDG_CACHE_HOME=str(home / ".cache"), TMPDIR=str(home / "tmp"))
        (home / "tmp").mkdir()
        cmd = [str(exe), "--self-test"]
        who = "the current user"
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            shutil.chown(home, "nobody", "nogroup")
            for p in home.rglob("*"):
                shutil.chown(p, "nobody", "nogroup")
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]
            who = "nobody"
        print(f"running {exe} --self-test as {who} (folder read-only, HOME={home})", flush=True)
        status = subprocess.run(cmd, env=env, cwd=str(home)).returncode
        after = snapshot(moved)
        if after != before:
            changed = sorted(set(after.items()) ^ set(before.items()))
            print(f"FAIL: the app's folder changed: {changed[:10]}", file=sys.stderr)
            status = status or 1
        print("moved, read-only, unprivileged: " + ("passed" if status == 0 else "FAILED"), flush=True)
        return status
    finally:
        set_writable(moved, True)
        if not unpack:
            shutil.move(str(moved), str(app))
        shutil.rmtree(place.parent, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
