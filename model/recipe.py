"""The bundled model's recipe, in one place: the ``digitscope`` arguments of its three steps.

1. **Base**: the CNN from scratch on MNIST alone (drawn-style augmentation).
2. **Fine-tune** the base on MNIST, pen drawings (each rendered as drawn and varied as
   other writers would) and synthesised regional variants of each digit.
3. **Verdict** (``digitscope verdict``): the "is it a digit?" network, trained on MNIST,
   pen digits and synthesised ones against no-digit letters and scribbles, saved in the
   model's metadata.

``benchmarks/leave_one_site_out.py`` measures steps 1–2 with one pen site left out of
step 2, for each site, and ``benchmarks/not_a_digit.py`` step 3 the same way;
``packaging/train_model.py`` runs the steps on all sites to make ``assets/digitscope-cnn.keras``.
"""

from __future__ import annotations

BASE_ARGS = ["--validation-split", "0", "--epochs", "40"]
FINE_TUNE_ARGS = [
    "--validation-split", "0", "--epochs", "4", "--learning-rate", "3e-4", "--pen-copies", "12", "--synth", "30000",
]


def base_argv(mnist: str, output: str) -> list[str]:
    """``digitscope train`` arguments of step 1."""
    return ["train", "--mnist", mnist, *BASE_ARGS, "--output", output]


def fine_tune_argv(
    mnist: str, base: str, pen_data: str, output: str, leave_out_site: str | None = None,
    learning_rate: str | None = None,
) -> list[str]:
    """``digitscope train`` arguments of step 2.

    ``leave_out_site``: one fold of leave-one-site-out; ``learning_rate``: a rate being tried,
    in place of the recipe's.
    """
    args = list(FINE_TUNE_ARGS)
    if learning_rate:
        args[args.index("--learning-rate") + 1] = learning_rate
    argv = ["train", "--mnist", mnist, "--init-model", base, "--pen-data", pen_data, *args]
    if leave_out_site:
        argv += ["--leave-out-site", leave_out_site]
    return [*argv, "--output", output]

VERDICT_ARGS = ["--epochs", "10", "--synth", "20000"]


def verdict_argv(mnist: str, model: str, pen_data: str, letters: str, leave_out_site: str | None = None) -> list[str]:
    """``digitscope verdict`` arguments of step 3."""
    argv = ["verdict", "--model", model, "--mnist", mnist, "--pen-data", pen_data, "--letters", letters, *VERDICT_ARGS]
    return [*argv, "--leave-out-site", leave_out_site] if leave_out_site else argv
