"""The one table of networks (``architecture.ARCHITECTURES``): the command line, a training
run's checks, Retrain and the comparison all follow it. No training here: quick."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from digitscope.model.architecture import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    ArchitectureSpec,
    architecture_of,
)
from digitscope.model.cli import build_parser
from digitscope.model.train_run import TrainRequest, check_request


def train_option(dest: str):
    train = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    return next(a for a in train._actions if a.dest == dest)


def test_one_spec_per_network_frozen_and_named_once():
    assert list(ARCHITECTURES) == ["cnn", "dense", "numpy"] and DEFAULT_ARCHITECTURE == "cnn"
    for key, spec in ARCHITECTURES.items():
        assert isinstance(spec, ArchitectureSpec) and spec.key == key
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.batch_size = 1  # type: ignore[misc]
    for attribute in ("metadata_name", "label", "choice", "candidate_prefix"):
        values = [getattr(s, attribute) for s in ARCHITECTURES.values()]
        assert len(set(values)) == len(values), f"two networks share a {attribute}"


def test_the_rules_as_they_were():
    cnn, dense, numpy_net = ARCHITECTURES["cnn"], ARCHITECTURES["dense"], ARCHITECTURES["numpy"]
    assert (cnn.learning_rate, cnn.batch_size) == (1e-3, 128)
    assert (dense.learning_rate, dense.batch_size) == (1e-3, 32)
    assert (numpy_net.learning_rate, numpy_net.batch_size) == (0.5, 32)
    assert [s.can_fine_tune for s in (cnn, dense, numpy_net)] == [True, True, False]
    assert cnn.fine_tune_rate == dense.fine_tune_rate == 3e-4 and numpy_net.fine_tune_rate is None
    assert [s.can_augment for s in (cnn, dense, numpy_net)] == [True, True, False]
    assert [s.has_conv_layers for s in (cnn, dense, numpy_net)] == [True, False, False]
    assert [s.numpy_trainer for s in (cnn, dense, numpy_net)] == [False, False, True]
    assert [s.metadata_name for s in (cnn, dense, numpy_net)] == ["mnist-cnn", "keras-dense", "numpy-mlp"]
    assert [s.label for s in (cnn, dense, numpy_net)] == ["CNN", "Dense (Keras)", "NumPy network"]


def test_metadata_names_lead_back_to_their_network():
    for key, spec in ARCHITECTURES.items():
        assert architecture_of({"architecture": spec.metadata_name}) == key
    assert architecture_of({}) == DEFAULT_ARCHITECTURE, "older models, with no name: the CNN"
    assert architecture_of({"architecture": "something-else"}) == DEFAULT_ARCHITECTURE


def test_the_command_line_offers_the_table():
    option = train_option("architecture")
    assert tuple(option.choices) == tuple(ARCHITECTURES) and option.default == DEFAULT_ARCHITECTURE
    for spec in ARCHITECTURES.values():
        assert spec.key in option.help and spec.description in option.help
        assert f"{spec.learning_rate:g}" in train_option("learning_rate").help
        assert str(spec.batch_size) in train_option("batch_size").help
    assert train_option("batch_size").help == "default: 128 (dense and numpy: 32)"
    assert train_option("learning_rate").help == (
        "Adam's initial rate, cosine-decayed (default: 0.001); numpy: the plain gradient-descent step (default: 0.5)"
    )


def fake_model(folder: Path, name: str, metadata: dict) -> Path:
    """A model file of a kind (check_request reads the metadata only)."""
    model = folder / f"{name}.keras"
    model.write_bytes(b"not read")
    model.with_suffix(".json").write_text(json.dumps(metadata))
    return model


@pytest.mark.parametrize("key", list(ARCHITECTURES))
def test_a_run_is_checked_against_its_network(key, tmp_path):
    spec = ARCHITECTURES[key]
    out = tmp_path / "out.keras"
    base = fake_model(tmp_path, "base", {"architecture": spec.metadata_name})
    fine_tune = TrainRequest(output=out, architecture=key, init_model=str(base))
    if spec.can_fine_tune:
        check_request(fine_tune)
    else:
        with pytest.raises(ValueError, match=f"the {spec.label} always starts from scratch"):
            check_request(fine_tune)
    keep_filters = TrainRequest(output=out, architecture=key, train_layers="dense")
    if spec.has_conv_layers:
        check_request(keep_filters)
    else:
        with pytest.raises(ValueError, match="for the CNN only"):
            check_request(keep_filters)
    other = next(s for s in ARCHITECTURES.values() if s.key != key and s.can_fine_tune)
    if spec.can_fine_tune:
        with pytest.raises(ValueError, match=f"fine-tune it with --architecture {other.key}"):
            other_model = fake_model(tmp_path, "other", {"architecture": other.metadata_name})
            check_request(TrainRequest(output=out, architecture=key, init_model=str(other_model)))


def test_an_unknown_network_names_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match="choose one of cnn, dense, numpy"):
        check_request(TrainRequest(output=tmp_path / "out.keras", architecture="rnn"))


def test_the_comparison_names_networks_from_the_table():
    from digitscope.model.comparison import ModelSummary

    for key, spec in ARCHITECTURES.items():
        row = ModelSummary(name="m", path=Path("m.keras"), architecture=key, parameters=1, mnist_accuracy=None,
                           drawings_accuracy=None, drawings_count=0, training_seconds=None, epochs=None)
        assert (row.label, row.description) == (spec.label, spec.description)


# ---------------------------------------------------------------------- Retrain


def test_retrain_offers_each_network_of_the_table(retrain_dialog):
    dialog = retrain_dialog
    offered = [(dialog.network.itemData(i), dialog.network.itemText(i)) for i in range(dialog.network.count())]
    assert offered == [(s.key, s.choice) for s in ARCHITECTURES.values()]
    assert dialog.architecture() == DEFAULT_ARCHITECTURE


@pytest.mark.parametrize("key", list(ARCHITECTURES))
def test_retrain_fits_its_settings_to_the_network(retrain_dialog, key):
    dialog = retrain_dialog
    spec = ARCHITECTURES[key]
    dialog.set_architecture("numpy" if key != "numpy" else "cnn")  # from another network
    dialog.set_architecture(key)
    same_as_current = key == "cnn"  # the current model is the bundled CNN
    assert dialog.fine_tune.isEnabled() == (spec.can_fine_tune and same_as_current)
    assert dialog.fine_tune.isChecked() == (spec.can_fine_tune and same_as_current)
    assert dialog.augment.isEnabled() == spec.can_augment and dialog.augment.isChecked() == spec.can_augment
    assert dialog.batch.value() == spec.batch_size
    rate = spec.fine_tune_rate if dialog.fine_tune.isChecked() else spec.learning_rate
    assert dialog.rate.value() == pytest.approx(rate)
    assert dialog.layers.isEnabled() == (dialog.fine_tune.isChecked() and spec.has_conv_layers)
    dialog.scratch.setChecked(True)
    assert dialog.rate.value() == pytest.approx(spec.learning_rate)
    assert not dialog.layers.isEnabled()
