"""``TrainRequest.to_argv()``: the ``digitscope train`` arguments of a request, read back by the
command line's own parser into the very same request. Retrain builds its runs this way."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from digitscope.model.cli import build_parser, train_request
from digitscope.model.train_run import ARGV_ALWAYS, NOT_OPTIONS, TrainRequest

#: Every field away from its default, so that each one has to travel through the argv.
EVERYTHING = TrainRequest(
    output=Path("/models/with space/all.keras"),
    mnist="/data/mnist.npz",
    epochs=3,
    batch_size=17,
    seed=42,
    learning_rate=0.000123456789,  # more digits than "%g" keeps
    validation_split=0.25,
    augment="mild",
    init_model="/models/base.keras",
    limit=500,
    command="recorded, never an option",
    train_layers="dense",
    drawings="/home/me/my drawings",
    drawings_weight=2.5,
    drawings_holdout=0.3,
    compare_model="/models/current.keras",
    architecture="dense",
    pen_data="/data/pen.jsonl",
    pen_sites=["aga", "apb"],
    leave_out_site="art",
    pen_copies=3,
    synth=100,
    teachers=["/models/seed 1.keras", "/models/seed2.keras"],
    distill=0.75, label_smoothing=0.05,
    weights_interval=2.0,
    probe="/home/me/probe 7.json",
)

REQUESTS = [
    TrainRequest(output=Path("plain.keras")),
    TrainRequest(output=Path("numpy.keras"), architecture="numpy", epochs=1, augment="off"),
    TrainRequest(output=Path("/m/fine.keras"), init_model="/m/base.keras", train_layers="dense", learning_rate=3e-4,
                 drawings="/d", drawings_weight=10.0, compare_model="/m/base.keras", batch_size=128),
    TrainRequest(output=Path("pen.keras"), pen_data="pen.jsonl", pen_sites=["x"], leave_out_site="y", pen_copies=1, synth=5),
    TrainRequest(output=Path("-dash.keras"), mnist="-odd name.npz", leave_out_site="-site", validation_split=0.0),
    TrainRequest(output=Path("tiny.keras"), learning_rate=1e-5, drawings_weight=0.0, drawings_holdout=0.0, limit=1, seed=2**32 - 1,
                 weights_interval=0.0),
    EVERYTHING,
]


def read_back(argv: list[str]) -> TrainRequest:
    return train_request(build_parser().parse_args(["train", *argv]))


def train_actions() -> dict[str, list[str]]:
    """Each destination of ``digitscope train``'s options, with every option that sets it
    (``augment``: ``--augment`` and ``--no-augment``)."""
    train = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    options: dict[str, list[str]] = {}
    for action in train._actions:
        options.setdefault(action.dest, []).extend(action.option_strings)
    return options


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.output.name)
def test_the_parser_reads_a_request_back_from_its_argv(request_):
    assert read_back(request_.to_argv()) == dataclasses.replace(request_, command="")


def test_every_field_maps_to_a_parser_option():
    options = train_actions()
    for field in dataclasses.fields(TrainRequest):
        if field.name in NOT_OPTIONS:
            continue
        assert field.name in options, f"TrainRequest.{field.name} has no `digitscope train` option"
        assert "--" + field.name.replace("_", "-") in options[field.name]
    assert NOT_OPTIONS == {"command"}, "the command line itself is recorded, not passed"


def test_every_field_travels():
    defaults = TrainRequest(output=Path("other.keras"))
    for field in dataclasses.fields(TrainRequest):
        assert getattr(EVERYTHING, field.name) != getattr(defaults, field.name), f"EVERYTHING leaves {field.name} at its default"
    back = read_back(EVERYTHING.to_argv())
    for field in dataclasses.fields(TrainRequest):
        if field.name not in NOT_OPTIONS:
            assert getattr(back, field.name) == getattr(EVERYTHING, field.name), field.name


def test_settings_are_written_out_and_other_defaults_left_out():
    argv = TrainRequest(output=Path("m.keras")).to_argv()
    assert argv == ["--architecture", "cnn", "--output", "m.keras", "--epochs", "12", "--validation-split", "0.1", "--augment", "drawn"]
    always = {"--" + n.replace("_", "-") for n in ARGV_ALWAYS if n not in ("batch_size", "learning_rate")}
    assert {a for a in argv if a.startswith("--")} >= always
    assert "--batch-size" not in argv and "--learning-rate" not in argv, "None: the network's default"


def test_short_numbers_stay_short_and_long_ones_exact():
    argv = TrainRequest(output=Path("m.keras"), learning_rate=3e-4, drawings="d", drawings_weight=2.0).to_argv()
    assert argv[argv.index("--learning-rate") + 1] == "0.0003" and argv[argv.index("--drawings-weight") + 1] == "2"
    argv = TrainRequest(output=Path("m.keras"), learning_rate=0.1 + 0.2).to_argv()
    assert float(argv[argv.index("--learning-rate") + 1]) == 0.1 + 0.2


def test_a_value_like_an_option_is_glued_to_its_option():
    argv = TrainRequest(output=Path("-m.keras"), leave_out_site="-x").to_argv()
    assert "--output=-m.keras" in argv and "--leave-out-site=-x" in argv


@pytest.mark.parametrize("names", [["a,b"], [""], [" a"]])
@pytest.mark.parametrize("field", ["pen_sites", "teachers"])
def test_names_that_cannot_travel_are_refused(names, field):
    with pytest.raises(ValueError, match=f"{field}: names cannot be empty, hold a comma"):
        TrainRequest(output=Path("m.keras"), pen_data="p", **{field: names}).to_argv()


def test_retrain_runs_the_argv_of_its_request(retrain_dialog, tmp_path):
    dialog = retrain_dialog
    out = tmp_path / "models" / "candidates" / "new.keras"
    for key in ("cnn", "dense", "numpy"):
        dialog.set_architecture(key)
        request = dialog.request(out)
        assert dialog.arguments(out) == request.to_argv()
        assert read_back(dialog.arguments(out)) == request
        assert request.architecture == key and request.batch_size == dialog.batch.value()
        assert request.learning_rate == pytest.approx(dialog.rate.value())
    dialog.set_architecture("cnn")
    assert dialog.fine_tune.isChecked()
    request = dialog.request(out)
    assert request.init_model == request.compare_model == str(dialog.current_model)
    assert request.train_layers == dialog.layers.currentData() == "dense"
    assert request.augment == "drawn" and request.drawings is None, "no drawings labelled yet"
    dialog.scratch.setChecked(True)
    request = dialog.request(out)
    assert request.init_model is None and request.train_layers == "all"
    assert request.learning_rate == pytest.approx(1e-3)


@pytest.mark.parametrize("rate", [None, "1e-4"])
def test_the_recipes_fine_tune_step_reads_back_with_one_learning_rate(rate):
    """Step 2's arguments parse as a train run; a rate being tried replaces the recipe's, once."""
    from digitscope.model.recipe import FINE_TUNE_ARGS, fine_tune_argv

    argv = fine_tune_argv("m.npz", "base.keras", "pen.jsonl", "out.keras", leave_out_site="gmd", learning_rate=rate)
    request = train_request(build_parser().parse_args(argv))
    recipe_rate = FINE_TUNE_ARGS[FINE_TUNE_ARGS.index("--learning-rate") + 1]
    assert argv.count("--learning-rate") == 1
    assert request.learning_rate == float(rate or recipe_rate)
    assert (request.init_model, request.output, request.leave_out_site) == ("base.keras", Path("out.keras"), "gmd")
