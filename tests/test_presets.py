"""Retrain's presets (the talk's underfitting / desired / overfitting pictures), and what a
run's curves are said to show (``parting``, ``explanation``). Whether the presets' real runs
show their lesson on MNIST is measured by ``benchmarks/overfitting_preset.py``."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from digitscope.model.architecture import ARCHITECTURES
from digitscope.model.cli import build_parser, train_request
from digitscope.model.presets import LOW_ACCURACY, OVERFIT_GAP, PRESETS, Parting, explanation, parting, percent
from digitscope.model.train_run import TrainRequest, check_request


def epoch(n: int, accuracy: float, val_accuracy: float | None, loss: float = 0.5, val_loss: float | None = 0.5) -> dict:
    return {"event": "epoch", "epoch": n, "accuracy": accuracy, "val_accuracy": val_accuracy,
            "loss": loss, "val_loss": val_loss, "seconds": 1.0}


def overfit_history(train_samples: int | None = 500) -> list[dict]:
    """Training climbs to 100 %; validation loss is lowest in epoch 8, validation accuracy peaks
    (92 %) in epoch 12, then stalls at 91 %."""
    events: list[dict] = [] if train_samples is None else [{"event": "start", "epochs": 30, "train_samples": train_samples}]
    for n in range(1, 31):
        train = min(1.0, 0.5 + n * 0.04)
        val = 0.5 + n * 0.05 if n < 8 else (0.92 if n == 12 else 0.91)
        val_loss = 1.0 - n * 0.09 if n <= 8 else 0.28 + (n - 8) * 0.01
        events.append({"event": "batch", "epoch": n, "batch": 1, "steps": 16, "loss": 0.1, "accuracy": 0.1})
        events.append(epoch(n, train, val, loss=max(0.01, 1.0 - n * 0.05), val_loss=val_loss))
    return events


def desired_history() -> list[dict]:
    return [{"event": "start", "train_samples": 12000}] + [
        epoch(n, a, v, val_loss=vl) for n, (a, v, vl) in enumerate([(0.85, 0.95, 0.16), (0.96, 0.972, 0.09), (0.975, 0.976, 0.08)], 1)
    ]


def underfit_history() -> list[dict]:
    return [epoch(n, 0.1 + 0.04 * n, 0.2 + 0.04 * n, val_loss=2.3 - 0.03 * n) for n in range(1, 9)]


def read_back(argv: list[str]) -> TrainRequest:
    """``digitscope train``'s own parser, as tests/test_train_argv.py reads a request back."""
    return train_request(build_parser().parse_args(["train", *argv]))


# parting


def test_parting_of_an_overfitting_run():
    p = parting(overfit_history())
    assert p == Parting(
        epochs=30, best_val_epoch=12, best_val_accuracy=0.92, lowest_val_loss_epoch=8, lowest_val_loss=pytest.approx(0.28),
        final_accuracy=1.0, final_val_accuracy=0.91, final_val_loss=pytest.approx(0.50), train_samples=500,
        near_lowest_val_loss_epoch=8,
    )
    assert p.gap == pytest.approx(0.09)
    assert p.parted_at == 8, "validation loss turns first"
    assert p.kind == "overfitting"


def test_a_late_dip_of_the_validation_loss_does_not_move_the_parting():
    """As a real run of the overfitting preset: 0.2672 in epoch 9, a dip to 0.2649 in epoch 20."""
    losses = {1: 0.80, 5: 0.32, 9: 0.2672, 12: 0.29, 20: 0.2649, 30: 0.30}
    p = parting([epoch(n, min(1.0, 0.5 + 0.05 * n), 0.92, val_loss=v) for n, v in losses.items()])
    assert p.lowest_val_loss_epoch == 20 and p.near_lowest_val_loss_epoch == 9 and p.parted_at == 9
    assert explanation(p).startswith("From epoch 9 ")
    clear = parting([epoch(n, min(1.0, 0.5 + 0.05 * n), 0.92, val_loss=v) for n, v in {**losses, 9: 0.2750}.items()])
    assert clear.parted_at == 20, "more than 2 % above the lowest: not there yet"


def test_the_first_of_equal_peaks_counts():
    p = parting([epoch(1, 0.9, 0.95, val_loss=0.2), epoch(2, 0.99, 0.97, val_loss=0.1), epoch(3, 1.0, 0.97, val_loss=0.1)])
    assert (p.best_val_epoch, p.lowest_val_loss_epoch) == (2, 2)


def test_metadata_history_without_event_keys_is_read():
    history = [{k: v for k, v in e.items() if k != "event"} for e in overfit_history(None) if e["event"] == "epoch"]
    p = parting(history)
    assert p.epochs == 30 and p.best_val_epoch == 12 and p.train_samples is None


def test_no_validation_gives_no_parting():
    assert parting([]) is None
    assert parting(None) is None
    assert parting([{"event": "start", "train_samples": 10}, {"event": "batch", "epoch": 1, "accuracy": 0.5}]) is None
    assert parting([epoch(n, 0.9, None, val_loss=None) for n in (1, 2)]) is None, "validation_split 0: no val_accuracy"


def test_epochs_without_validation_loss():
    p = parting([epoch(1, 0.99, 0.9, val_loss=None), epoch(2, 1.0, 0.91, val_loss=None)])
    assert p.lowest_val_loss_epoch is None and p.lowest_val_loss is None and p.final_val_loss is None
    assert p.parted_at == p.best_val_epoch == 2


def test_kinds():
    assert parting(desired_history()).kind == "desired"
    assert parting(underfit_history()).kind == "underfitting"
    # high training accuracy far above validation is overfitting even when validation is low
    assert parting([epoch(1, 0.99, 0.80)]).kind == "overfitting"
    assert parting([epoch(1, LOW_ACCURACY - 0.01, LOW_ACCURACY - 0.2)]).kind == "underfitting", "not even the training set is learned"
    assert parting([epoch(1, 0.97 + OVERFIT_GAP - 0.001, 0.97)]).kind == "desired"
    assert parting([epoch(1, 0.97 + OVERFIT_GAP + 0.001, 0.97)]).kind == "overfitting"


# explanation


def test_explanation_of_overfitting():
    text = explanation(parting(overfit_history()))
    assert text.startswith("From epoch 8 the network learns its 500 training images by heart")
    assert "training accuracy climbs to 100 %" in text
    assert "peaked at 92 % in epoch 12 and ends at 91 %" in text
    assert "validation loss rises again" in text
    assert "\n" not in text


def test_explanation_of_overfitting_that_stalls():
    history = [epoch(n, min(1.0, 0.8 + 0.05 * n), min(0.912, 0.8 + 0.05 * n), val_loss=0.3) for n in range(1, 11)]
    text = explanation(parting(history))
    assert text == (
        "From epoch 1 the network learns its training images by heart: "
        "training accuracy climbs to 100 % while validation accuracy stalls at 91.2 %."
    )


def test_explanation_of_a_good_fit():
    text = explanation(parting(desired_history()))
    assert text.startswith("A good fit: training and validation accuracy climb together (97.5 % and 97.6 %)")
    assert "not its 12,000 training images by heart" in text
    ahead = explanation(parting([epoch(1, 0.93, 0.975)]))
    assert "97.5 %, even above training's 93 %" in ahead and "augmented" in ahead


def test_explanation_of_underfitting():
    text = explanation(parting(underfit_history()))
    assert text.startswith("Underfitting: after 8 epochs both curves are still low (training 42 %, validation 52 %) and still rising")
    assert "more epochs or a larger learning rate" in text
    flat = [epoch(1, 0.3, 0.4), epoch(2, 0.3, 0.38)]
    assert "still rising" not in explanation(parting(flat)) and "after 2 epochs" in explanation(parting(flat))
    assert "after 1 epoch both" in explanation(parting([epoch(1, 0.3, 0.4)]))


def test_explanation_without_validation():
    assert "no telling learning from learning by heart" in explanation(parting([epoch(1, 0.9, None)]))


def test_the_three_kinds_say_different_things():
    texts = {explanation(parting(h)) for h in (overfit_history(), desired_history(), underfit_history(), [])}
    assert len(texts) == 4


@pytest.mark.parametrize(("value", "text"), [(1.0, "100 %"), (0.912, "91.2 %"), (0.93, "93 %"), (0.9996, "99.9 %"), (0.0, "0 %")])
def test_percent(value, text):
    assert percent(value) == text


# the presets


def test_the_three_pictures():
    assert list(PRESETS) == ["underfitting", "desired", "overfitting"]
    for key, preset in PRESETS.items():
        assert preset.key == key and preset.label and preset.lesson


@pytest.mark.parametrize("key", list(PRESETS))
def test_a_preset_sets_request_fields_and_check_request_accepts_it(key, tmp_path):
    preset = PRESETS[key]
    names = {f.name for f in dataclasses.fields(TrainRequest)}
    assert set(preset.settings()) <= names
    base = TrainRequest(
        output=tmp_path / "models" / "new.keras", mnist="/data/mnist.npz", seed=7, init_model="/m/base.keras",
        train_layers="dense", drawings="/d", pen_data="pen.jsonl", pen_sites=["a"], leave_out_site="b", synth=100,
        compare_model="/m/base.keras", command="digitscope train",
    )
    request = preset.apply(base)
    for name, value in preset.settings().items():
        assert getattr(request, name) == value, name
    assert request.architecture == "cnn" and request.init_model is None and request.train_layers == "all"
    assert request.drawings is None and request.pen_data is None and request.synth == 0, "MNIST only, as the summary says"
    assert (request.output, request.mnist, request.seed, request.compare_model) == (base.output, base.mnist, 7, base.compare_model)
    check_request(request)  # raises if the combination cannot run
    assert base.init_model == "/m/base.keras", "the request it was applied to is left as it was"


@pytest.mark.parametrize("key", list(PRESETS))
def test_a_presets_argv_reads_back_to_the_same_request(key, tmp_path):
    request = PRESETS[key].apply(TrainRequest(output=tmp_path / "x.keras", mnist="/data/mnist.npz"))
    assert read_back(request.to_argv()) == request
    argv = request.to_argv()
    assert argv[argv.index("--limit") + 1] == str(PRESETS[key].limit)


@pytest.mark.parametrize("key", list(PRESETS))
def test_summary_says_what_runs(key):
    preset = PRESETS[key]
    assert preset.training_images + preset.validation_images == preset.limit
    assert preset.validation_images == int(round(preset.limit * preset.validation_split))
    assert f"on {preset.training_images:,} MNIST images" in preset.summary
    assert f"{preset.validation_images:,} more held out" in preset.summary
    assert f"{preset.epochs} epochs" in preset.summary
    assert ("no augmentation" in preset.summary) == (preset.augment == "off")
    assert "\n" not in preset.summary and preset.summary.startswith("the CNN from scratch")


def test_the_numbers_fit_the_lessons():
    cnn = ARCHITECTURES["cnn"]
    under, good, over = PRESETS["underfitting"], PRESETS["desired"], PRESETS["overfitting"]
    # overfitting: few training images, no augmentation, many epochs, a validation set large enough to be smooth
    assert over.training_images <= 1000 and over.validation_images >= 1000 and over.augment == "off" and over.epochs >= 30
    # underfitting: a learning rate far below the network's
    assert under.learning_rate is not None and under.learning_rate <= cnn.learning_rate / 10
    assert "100× below the usual 0.001" in under.summary
    # a good fit: much more data, augmented, at the network's own rate
    assert good.training_images >= 10 * over.training_images and good.augment != "off" and good.learning_rate is None
    # each fits a few minutes on a 2-core CPU: at most ~50,000 training images seen per run
    for preset in PRESETS.values():
        assert preset.training_images * preset.epochs <= 50_000, preset.key


def test_a_presets_run_reports_what_parting_reads(tiny_mnist, tmp_path):
    """Two epochs of the overfitting preset on the tests' tiny MNIST: the events a real run emits
    are the ones parting reads."""
    from digitscope.model.train_run import run_training

    request = dataclasses.replace(
        PRESETS["overfitting"].apply(TrainRequest(output=tmp_path / "x.keras", mnist=str(tiny_mnist))), epochs=2
    )
    events: list[dict] = []
    run_training(request, events.append)
    p = parting(events)
    start = next(e for e in events if e["event"] == "start")
    assert start["train_samples"] == 256 - round(256 * request.validation_split) == p.train_samples
    assert p.epochs == 2 and 1 <= p.best_val_epoch <= 2 and p.lowest_val_loss_epoch in (1, 2)
    assert all(math.isfinite(v) for v in (p.final_accuracy, p.final_val_accuracy, p.final_val_loss))
    assert explanation(p).endswith(".")
    assert Path(request.output).is_file()
