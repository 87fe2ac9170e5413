"""Keeping or discarding a new model (``modelfile.promote_model`` / ``discard_model``), as
Retrain does: the model and its metadata move or go together, nothing is replaced, and a
failure says why and loses nothing. On files the tests make (no Keras needed)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from digitscope.model.files import TEMP_PATTERN
from digitscope.model.modelfile import CANDIDATES, ModelFileError, discard_model, new_candidate, promote_model

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    (folder / CANDIDATES).mkdir(parents=True)
    return folder


def candidate(models: Path, name: str = "retrained-20250101-120000", metadata: bool = True) -> Path:
    model = models / CANDIDATES / f"{name}.keras"
    model.write_bytes(b"new model " + name.encode())
    if metadata:
        model.with_suffix(".json").write_text('{"run": "new"}')
    return model


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_keep_moves_the_model_and_its_metadata(models):
    new = candidate(models)
    model_bytes = new.read_bytes()
    kept = promote_model(new, models)
    assert kept == models / new.name
    assert files(models) == {new.name: model_bytes, f"{new.stem}.json": b'{"run": "new"}'}, "nothing left in candidates"


def test_a_taken_name_is_never_replaced(models):
    new = candidate(models)
    (models / new.name).write_bytes(b"the model kept before")
    (models / f"{new.stem}.json").write_text('{"run": "old"}')
    (models / f"{new.stem}-2.keras").write_bytes(b"and another")  # no metadata: its name is taken all the same
    before = files(models)
    kept = promote_model(new, models)
    assert kept == models / f"{new.stem}-3.keras"
    assert kept.read_bytes() == before[f"{CANDIDATES}/{new.name}"]
    assert kept.with_suffix(".json").read_text() == '{"run": "new"}'
    after = files(models)
    for name in (new.name, f"{new.stem}.json", f"{new.stem}-2.keras"):
        assert after[name] == before[name], f"{name} was changed"
    assert f"{new.stem}-2.json" not in after


def test_a_model_without_metadata_moves_alone(models):
    new = candidate(models, metadata=False)
    kept = promote_model(new, models)
    assert kept == models / new.name and kept.is_file()
    assert files(models) == {new.name: kept.read_bytes()}


def test_a_model_without_metadata_never_lands_beside_another_models(models):
    new = candidate(models, metadata=False)
    (models / f"{new.stem}.json").write_text('{"run": "someone else"}')  # metadata whose model is gone
    kept = promote_model(new, models)
    assert kept == models / f"{new.stem}-2.keras" and not kept.with_suffix(".json").exists()
    assert (models / f"{new.stem}.json").read_text() == '{"run": "someone else"}'


def test_no_model_to_keep_is_a_clear_error(models):
    with pytest.raises(ModelFileError, match="no model file to keep"):
        promote_model(models / CANDIDATES / "gone.keras", models)


def test_a_missing_models_folder_is_a_clear_error(tmp_path, models):
    new = candidate(models)
    before = files(models)
    with pytest.raises(ModelFileError, match="cannot keep"):
        promote_model(new, tmp_path / "nowhere")
    assert files(models) == before


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes to any folder")
def test_a_read_only_folder_is_a_clear_error_and_nothing_is_lost(models):
    new = candidate(models)
    before = files(models)
    models.chmod(0o500)
    try:
        with pytest.raises(ModelFileError, match=f"cannot keep {new.name} in {models}: Permission denied"):
            promote_model(new, models)
    finally:
        models.chmod(0o700)
    assert files(models) == before


def refuse_in(folder: Path, monkeypatch, code: int = errno.EACCES, only: str = "") -> None:
    """Make every new name in ``folder`` (ending in ``only``) fail, as a read-only folder does (for root too)."""
    for name in ("link", "replace", "rename"):
        real = getattr(os, name)

        def refusing(src, dst, *a, _real=real, **k):
            if Path(dst).parent == folder and str(dst).endswith(only):
                raise OSError(code, os.strerror(code), str(dst))
            return _real(src, dst, *a, **k)

        monkeypatch.setattr(os, name, refusing)


def test_a_folder_that_takes_no_new_name_is_a_clear_error_and_nothing_is_lost(models, monkeypatch):
    new = candidate(models)
    before = files(models)
    refuse_in(models, monkeypatch)
    with pytest.raises(ModelFileError, match=f"cannot keep {new.name} in {models}: Permission denied"):
        promote_model(new, models)
    assert files(models) == before


def test_a_model_that_cannot_follow_its_metadata_takes_it_back(models, monkeypatch):
    new = candidate(models)
    before = files(models)
    refuse_in(models, monkeypatch, errno.ENOSPC, only=".keras")  # the metadata gets in, the model does not
    with pytest.raises(ModelFileError, match="No space left on device"):
        promote_model(new, models)
    assert files(models) == before, "the metadata's new name went again"


def no_hard_links(monkeypatch) -> None:
    def link(src, dst, *a, **k):
        raise OSError(errno.EPERM, "Operation not permitted", str(dst))

    monkeypatch.setattr(os, "link", link)


def test_without_hard_links_the_pair_is_renamed(models, monkeypatch):
    no_hard_links(monkeypatch)
    new = candidate(models)
    model_bytes = new.read_bytes()
    kept = promote_model(new, models)
    assert files(models) == {new.name: model_bytes, f"{new.stem}.json": b'{"run": "new"}'}
    assert kept == models / new.name


def test_without_hard_links_a_failed_move_puts_the_metadata_back(models, monkeypatch):
    no_hard_links(monkeypatch)
    new = candidate(models)
    before = files(models)
    refuse_in(models, monkeypatch, errno.ENOSPC, only=".keras")
    with pytest.raises(ModelFileError):
        promote_model(new, models)
    assert files(models) == before


def test_discard_deletes_the_pair_and_what_killed_saves_left(models):
    new = candidate(models)
    temp = new.parent / f".{new.name}.abcd1234.tmp.keras"
    temp.write_bytes(b"half a model")
    assert TEMP_PATTERN.match(temp.name)
    discard_model(new)
    assert files(models) == {f"{CANDIDATES}/{temp.name}": b"half a model"}, "temporary files only when asked"
    discard_model(new, remove_temps=True)
    assert files(models) == {}
    discard_model(new)  # nothing there: nothing to do


def test_discard_keeps_the_metadata_of_a_model_it_cannot_delete(models, monkeypatch):
    new = candidate(models)
    real = Path.unlink

    def unlink(self, *a, **k):
        if self.suffix == ".keras":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(PermissionError):
        discard_model(new)
    assert new.exists() and new.with_suffix(".json").exists()


def test_a_new_candidate_is_named_by_network_and_time(models):
    import datetime as dt

    stale = models / CANDIDATES / ".old.keras.abcd1234.tmp.keras"
    stale.write_bytes(b"x")
    os.utime(stale, (0, 0))  # long ago: its writer is gone
    path = new_candidate(models, "dense", dt.datetime(2025, 3, 4, 5, 6, 7))
    assert path == models / CANDIDATES / "dense-20250304-050607.keras" and not path.exists()
    assert not stale.exists(), "what killed runs left goes"
    fresh = new_candidate(models.parent / "elsewhere", "numpy")
    assert fresh.parent.is_dir() and fresh.name.startswith("numpy-")
