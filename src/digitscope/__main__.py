"""``python -m digitscope``, the ``digitscope`` console script and the packaged executable.

This is where the two layers meet: the command line (``digitscope.model.cli``,
no Qt) gets the app and the self-test (``digitscope.app``) handed in.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def _open_gui() -> int:
    try:
        from digitscope.app.main import run
    except ImportError as exc:  # e.g. Qt's platform libraries are missing
        print(f"digitscope: the app cannot start: {exc}", file=sys.stderr)
        return 1
    return run()


def _self_test() -> int:
    from digitscope.app.self_test import run_self_test

    return run_self_test()


def main(argv: Sequence[str] | None = None) -> int:
    import multiprocessing

    # In a packaged (frozen) app the executable also serves as the reading process the
    # window spawns; this hands such a start over to multiprocessing. A no-op otherwise.
    multiprocessing.freeze_support()
    from digitscope.model.cli import main as cli_main

    return cli_main(argv, gui=_open_gui, self_test=_self_test)


if __name__ == "__main__":
    sys.exit(main())
