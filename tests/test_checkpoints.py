import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from vae_core.checkpoints import (
    atomic_write,
    checkpoint_or_bundled,
    load_checkpoint,
    read_checkpoint_info,
    save_checkpoint,
)
from vae_core.errors import VaeError
from vae_core.model import VAE, VAEConfig
from vae_core.paths import bundled_checkpoint_path


def test_round_trip_reproduces_outputs_exactly(tmp_path):
    torch.manual_seed(3)
    model = VAE(VAEConfig(hidden_dim=64)).eval()
    save_checkpoint(tmp_path / "m.safetensors", model, {"dataset": "mnist", "seed": 3})
    loaded, info = load_checkpoint(tmp_path / "m.safetensors")
    x, z = torch.rand(8, 784), torch.randn(8, 2)
    assert torch.equal(loaded.encode(x)[0], model.encode(x)[0])
    assert torch.equal(loaded.decode(z), model.decode(z))
    assert info.config == VAEConfig(hidden_dim=64)
    assert info.provenance == {"dataset": "mnist", "seed": 3}


def test_metadata_is_readable_without_loading_weights(random_checkpoint):
    info = read_checkpoint_info(random_checkpoint)
    assert info.format_version == 1 and info.model == "vae"


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(VaeError, match="does not exist"):
        load_checkpoint(tmp_path / "none.safetensors")
    with pytest.raises(VaeError, match="is not a file"):
        load_checkpoint(tmp_path)


def test_truncated_checkpoint(random_checkpoint):
    data = random_checkpoint.read_bytes()
    random_checkpoint.write_bytes(data[: len(data) // 2])
    with pytest.raises(VaeError, match="damaged or not a safetensors file"):
        load_checkpoint(random_checkpoint)


@pytest.mark.parametrize("form", ["pickle", "torch.save"])
def test_a_pickle_is_never_unpickled(form, exploit_bytes, tmp_path):
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(exploit_bytes[form])
    with pytest.raises(VaeError, match="damaged or not a safetensors file"):
        load_checkpoint(evil)
    with pytest.raises(VaeError, match="damaged or not a safetensors file"):
        read_checkpoint_info(evil)
    assert not Path("pwned").exists()


def test_missing_and_misshapen_tensors(tmp_path, random_checkpoint):
    metadata = {
        k: json.dumps(v)
        for k, v in {
            "format": "vae-explorer",
            "format_version": 1,
            "model": "vae",
            "config": VAEConfig().to_dict(),
        }.items()
    }
    state = VAE().state_dict()
    partial = {k: v for k, v in state.items() if not k.startswith("decoder")}
    save_file(partial, tmp_path / "partial.safetensors", metadata=metadata)
    with pytest.raises(VaeError, match="does not fit its model: it lacks decoder"):
        load_checkpoint(tmp_path / "partial.safetensors")
    state["mu_head.weight"] = torch.zeros(3, 512)
    save_file(state, tmp_path / "shape.safetensors", metadata=metadata)
    with pytest.raises(VaeError, match=r"does not fit its model: mu_head.weight has shape \[3, 512\], not \[2, 512\]"):
        load_checkpoint(tmp_path / "shape.safetensors")


def test_newer_format_version_asks_for_an_upgrade(tmp_path):
    metadata = {"format": json.dumps("vae-explorer"), "format_version": "2", "config": "{}"}
    save_file(VAE().state_dict(), tmp_path / "new.safetensors", metadata=metadata)
    with pytest.raises(VaeError, match="format version 2; this vae-explorer reads up to 1"):
        load_checkpoint(tmp_path / "new.safetensors")


def test_foreign_safetensors_file(tmp_path):
    save_file({"w": torch.zeros(2)}, tmp_path / "other.safetensors")
    with pytest.raises(VaeError, match="not a vae-explorer checkpoint"):
        load_checkpoint(tmp_path / "other.safetensors")


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "m.safetensors"
    target.write_bytes(b"previous")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(VaeError, match="cannot write .*No space left on device"):
        atomic_write(target, b"new content")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_write_into_a_missing_directory(tmp_path):
    with pytest.raises(VaeError, match="directory .* does not exist"):
        atomic_write(tmp_path / "no" / "m.safetensors", b"x")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_checkpoint_written_on_cuda_loads_on_cpu(tmp_path):
    save_checkpoint(tmp_path / "gpu.safetensors", VAE().cuda())
    model, _ = load_checkpoint(tmp_path / "gpu.safetensors", "cpu")
    assert next(model.parameters()).device.type == "cpu"


def test_the_bundled_checkpoint_is_found_and_is_a_2d_vae():
    path = bundled_checkpoint_path()
    assert path.name == "mnist-vae.safetensors" and path.is_file()
    assert read_checkpoint_info(path).config.latent_dim == 2


def test_a_missing_bundled_checkpoint_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("vae_core.paths.BUNDLED_CHECKPOINT_NAME", "absent.safetensors")
    with pytest.raises(VaeError, match="the bundled checkpoint is missing from this installation"):
        bundled_checkpoint_path()
    with pytest.raises(VaeError, match="the bundled checkpoint is missing"):
        checkpoint_or_bundled(None)


def test_a_named_checkpoint_is_used_and_the_bundled_one_only_when_none_is_named(tmp_path):
    assert checkpoint_or_bundled(tmp_path / "mine.safetensors") == tmp_path / "mine.safetensors"
    assert checkpoint_or_bundled(None) == bundled_checkpoint_path()


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "m.safetensors", b"x")
    finally:
        os.umask(mask)
    assert (tmp_path / "m.safetensors").stat().st_mode & 0o777 == 0o644
