"""Fixtures for the explorer: a seeded random model and a small made-up atlas, so screens are deterministic."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import numpy as np
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests (Textual's pilot is async) in a fresh event loop; no async plugin needed."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True


def made_up_atlas(count: int = 400, seed: int = 0):
    """Digits spread over the plane with labels by angle (so colours form sectors), and noise images."""
    import torch

    from vae_core.atlas import Atlas

    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 1.2, (count, 2)).astype(np.float32)
    labels = ((np.arctan2(means[:, 1], means[:, 0]) + np.pi) / (2 * np.pi) * 10).astype(np.int64) % 10
    images = (rng.random((count, 28, 28)) ** 4 * 255).astype(np.uint8)
    return Atlas(torch.from_numpy(images), torch.from_numpy(labels), means, "made up for tests")


@pytest.fixture
def model(random_checkpoint: Path):
    from vae_core.checkpoints import load_checkpoint

    return load_checkpoint(random_checkpoint)[0]


@pytest.fixture
def session(model):
    """A session on the random model with the made-up atlas and no test set to encode."""
    from vae_tui.session import Session

    return Session(model, "random.safetensors", made_up_atlas())


@pytest.fixture
def make_app(tmp_path: Path):
    """Build an explorer that opens this session (in its loading worker); exports go to tmp_path/exports."""
    from vae_tui.app import ExplorerApp

    exports = tmp_path / "exports"
    exports.mkdir()

    def make(session) -> ExplorerApp:
        return ExplorerApp(lambda: session, export_dir=exports)

    return make


@pytest.fixture(scope="session")
def bundled_session_parts():
    """The bundled checkpoint's model and atlas, loaded once: real digits for the snapshots."""
    from vae_core.atlas import load_atlas
    from vae_core.checkpoints import load_checkpoint
    from vae_core.paths import atlas_path_for, bundled_checkpoint_path

    path = bundled_checkpoint_path()
    model = load_checkpoint(path)[0]
    return model, load_atlas(atlas_path_for(path)).for_model(model)


@pytest.fixture
def bundled_session(bundled_session_parts):
    """A session on the bundled checkpoint with its atlas and no test set to encode, as `vae explore` opens it."""
    from vae_tui.session import Session

    model, atlas = bundled_session_parts
    return Session(model, "mnist-vae.safetensors", atlas)


@pytest.fixture
def truecolor(monkeypatch):
    """Draw in truecolor whatever the terminal running the tests says, so the snapshots do not depend on it."""
    import textual.constants

    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "truecolor")
