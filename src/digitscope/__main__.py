"""``python -m digitscope`` and the ``digitscope`` console script."""

from __future__ import annotations

import sys


def main() -> int:
    from digitscope.model.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
