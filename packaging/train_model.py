"""Make the bundled model, ``assets/digitscope-cnn.keras``, by its recipe (``model/recipe.py``).

    python packaging/train_model.py [--mnist ../shared/data/mnist.npz]
        [--pen-data ../shared/data/unipen-dev.jsonl] [--letters ../shared/data/unipen-letters-dev.jsonl]
        [--base runs/base.keras] [--output FILE] [--verdict-only]

Step 1 trains the MNIST-only base (about 35 minutes on 2 cores) unless ``--base``
names one that exists; step 2 fine-tunes it on MNIST, every site of the pen data
and the synthesised variants (about 10 minutes); step 3 trains its "is it a digit?"
verdict (about 6 minutes; ``--verdict-only``: this step alone, on ``--output`` as it is).
The runs' commands and figures are kept in the model's metadata (the base's under
``base_model``, the verdict's under ``verdict``). Measure the recipe first with
``benchmarks/leave_one_site_out.py`` and ``benchmarks/not_a_digit.py``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> int:
    from digitscope.model.recipe import base_argv, fine_tune_argv, verdict_argv

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(SHARED / "mnist.npz"))
    ap.add_argument("--pen-data", default=str(SHARED / "unipen-dev.jsonl"))
    ap.add_argument("--base", default="runs/base.keras", help="the base model: trained here unless it exists (default: %(default)s)")
    ap.add_argument("--letters", default=str(SHARED / "unipen-letters-dev.jsonl"))
    ap.add_argument("--output", default=str(ROOT / "assets" / "digitscope-cnn.keras"))
    ap.add_argument("--verdict-only", action="store_true", help="only step 3, on --output as it is")
    args = ap.parse_args()
    # The steps run in the checkout, on paths relative to it: the commands kept in the
    # metadata (and shown in About) then name no folder of the machine that made them.
    for name in ("mnist", "pen_data", "base", "letters", "output"):
        setattr(args, name, os.path.relpath(Path(getattr(args, name)).resolve(), ROOT))
    steps = []
    if not args.verdict_only:
        steps += [] if (ROOT / args.base).is_file() else [base_argv(args.mnist, args.base)]
        steps.append(fine_tune_argv(args.mnist, args.base, args.pen_data, args.output))
    steps.append(verdict_argv(args.mnist, args.output, args.pen_data, args.letters))
    for argv in steps:
        print("+ digitscope " + " ".join(argv), flush=True)
        if subprocess.run([sys.executable, "-m", "digitscope", *argv], cwd=ROOT).returncode:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
