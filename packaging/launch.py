"""The packaged executable's entry script: the same as the ``digitscope`` command."""

import sys

from digitscope.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
