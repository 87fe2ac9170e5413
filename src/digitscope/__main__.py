"""``python -m digitscope`` and the ``digitscope`` console script."""

from __future__ import annotations

import sys


def main() -> int:
    import multiprocessing

    # In a packaged (frozen) app the executable also serves as the reading process the
    # window spawns; this hands such a start over to multiprocessing. A no-op otherwise.
    multiprocessing.freeze_support()
    from digitscope.model.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
