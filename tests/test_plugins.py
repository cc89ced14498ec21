import pytest

from vae_core.data import MNIST
from vae_core.errors import VaeError
from vae_core.model import VAE
from vae_core.plugins import DATASETS, MODELS


def test_builtins_are_registered_through_entry_points():
    assert DATASETS.get("mnist") is MNIST
    assert MODELS.get("vae") is VAE


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(VaeError, match="unknown dataset 'nope'; known: .*mnist"):
        DATASETS.get("nope")


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A tiny distribution on sys.path declaring one dataset and one model through entry points."""
    (tmp_path / "tiny_plugin.py").write_text(
        "from vae_core.data import IdxDataset\n"
        "from vae_core.model import VAE\n"
        "TINY = IdxDataset(name='tiny', mirrors=(), files={}, credit='nobody')\n"
        "class TinyVAE(VAE):\n    pass\n"
        "def broken():\n    pass\n"
        "class Lacking:\n    name = 'lacking'\n    def load(self, split):\n        pass\n"
    )
    dist_info = tmp_path / "tiny_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-plugin\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(
        "[vae_explorer.datasets]\ntiny = tiny_plugin:TINY\nghost = tiny_plugin:MISSING\n"
        "lacking = tiny_plugin:Lacking\n\n"
        "[vae_explorer.models]\ntiny-vae = tiny_plugin:TinyVAE\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    import sys

    sys.modules.pop("tiny_plugin", None)


def test_a_plugin_package_adds_entries_by_name(installed_plugin):
    assert "tiny" in DATASETS.names() and "mnist" in DATASETS.names()
    assert DATASETS.get("tiny").name == "tiny"
    assert MODELS.get("tiny-vae").__name__ == "TinyVAE"


def test_a_broken_plugin_is_a_clear_error(installed_plugin):
    with pytest.raises(VaeError, match="the dataset plugin 'ghost' .* failed to load"):
        DATASETS.get("ghost")


def test_a_dataset_plugin_lacking_part_of_the_protocol_is_named_with_what_it_lacks(installed_plugin):
    with pytest.raises(VaeError, match=r"^the dataset plugin 'lacking' \(tiny_plugin:Lacking\) lacks cached_split$"):
        DATASETS.get("lacking")
    with pytest.raises(VaeError, match="the dataset plugin 'bare' .* lacks name, load, cached_split"):
        DATASETS.register("bare", object())
    assert "bare" not in DATASETS.names()
