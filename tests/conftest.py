"""Shared fixtures: the real MNIST directory where present, tiny checkpoints and IDX directories in tmp_path,
and HTTP servers on 127.0.0.1 that serve, or fail to serve, downloads."""

from __future__ import annotations

import io
import pickle
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# The fuzzer's profiles (tests/fuzz): "quick" in every pytest run (tens of seconds), "long" by hand, as long as wanted:
#     .venv/bin/pytest tests/fuzz --hypothesis-profile long     (VAE_FUZZ_STATS=FILE keeps a running tally in FILE)
# Registered here, not in tests/fuzz, because --hypothesis-profile is read before nested conftest files load; "quick"
# is loaded only where no profile was chosen (tests import this file again as tests.conftest).
SLOW_INPUTS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile("quick", max_examples=40, deadline=None, suppress_health_check=SLOW_INPUTS, print_blob=True)
settings.register_profile("long", max_examples=100_000, deadline=None, suppress_health_check=SLOW_INPUTS)
if settings.get_current_profile_name() == "default":
    settings.load_profile("quick")

MNIST_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """../shared/data/mnist from the project root; tests that need it are skipped where it is absent."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST not found at {MNIST_DIR}")
    return MNIST_DIR


def fake_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 'digits' [count, 28, 28] with labels, for tests that need valid IDX data but not MNIST."""
    rng = np.random.default_rng(seed)
    images = (rng.random((count, 28, 28)) ** 4 * 255).astype(np.uint8)
    return images, (np.arange(count) % 10).astype(np.uint8)


@pytest.fixture
def idx_dir(tmp_path: Path) -> Path:
    """A directory in MNIST's layout holding 200 fake training and 100 fake test digits (gzip IDX)."""
    from vae_core.data import MNIST, write_idx

    for split, count in (("train", 200), ("test", 100)):
        images, labels = fake_digits(count, seed=count)
        images_file, labels_file = MNIST.files[split]
        write_idx(tmp_path / images_file.name, images)
        write_idx(tmp_path / labels_file.name, labels)
    return tmp_path


@pytest.fixture
def fake_sets(idx_dir: Path):
    """The training and test sets of idx_dir, loaded."""
    from vae_core.data import MNIST

    return MNIST.load("train", idx_dir, download=False), MNIST.load("test", idx_dir, download=False)


@pytest.fixture
def random_checkpoint(tmp_path: Path) -> Path:
    """A checkpoint of a VAE with seeded random weights: deterministic, made in milliseconds."""
    import torch

    from vae_core.checkpoints import save_checkpoint
    from vae_core.model import VAE

    torch.manual_seed(0)
    path = tmp_path / "random.safetensors"
    save_checkpoint(path, VAE(), {"dataset": "none", "note": "random weights for tests"})
    return path


# ---- pickles that run code ----------------------------------------------------------------------------------------


class Exploit:
    """Unpickling this creates the file ``pwned`` in the working directory: the proof that a file was unpickled."""

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return Path.touch, (Path("pwned"),)


@pytest.fixture
def exploit_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """A plain pickle and a torch.save file that create ./pwned when unpickled.

    Each is proven on itself first, unpickled in a decoy folder; the test then runs in tmp_path/victim, its working
    directory, where ./pwned must never appear.
    """
    import torch

    saved = io.BytesIO()
    torch.save(Exploit(), saved)
    forms = {"pickle": pickle.dumps(Exploit()), "torch.save": saved.getvalue()}
    unpickle = {"pickle": pickle.loads, "torch.save": lambda data: torch.load(io.BytesIO(data), weights_only=False)}
    for form, data in forms.items():
        decoy = tmp_path / f"decoy-{form}"
        decoy.mkdir()
        monkeypatch.chdir(decoy)
        unpickle[form](data)
        assert (decoy / "pwned").exists(), f"the {form} form must run code when unpickled, or the test proves nothing"
    victim = tmp_path / "victim"
    victim.mkdir()
    monkeypatch.chdir(victim)
    return forms


# ---- local HTTP servers for downloads ---------------------------------------------------------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without a log line on stderr per request (stderr is what the CLI tests read)."""

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """An HTTP server on 127.0.0.1 serving tmp_path/served, as (that folder, its URL); stopped when the test ends."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(QuietHandler, directory=str(served))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class MisbehavingHandler(QuietHandler):
    """Stalls (never answers in time) on paths ending in stall.gz, and cuts every other response short."""

    def do_GET(self) -> None:
        if self.path.endswith("stall.gz"):
            self.server.release.wait(10)  # type: ignore[attr-defined]
            return
        body = b"\x00" * 1000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) * 2))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def bad_server() -> Iterator[str]:
    """The URL of a server on 127.0.0.1 run by MisbehavingHandler."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), MisbehavingHandler)
    httpd.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.release.set()  # type: ignore[attr-defined]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def refused_url() -> str:
    """A URL on 127.0.0.1 whose port was free a moment ago: nothing listens there, connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def vae(*args: object):
    """Run the `vae` command in-process, as Typer's CliRunner does, with every argument made a string."""
    from typer.testing import CliRunner

    import cli

    return CliRunner().invoke(cli.app, [str(arg) for arg in args])


def ok(*args: object):
    """Run `vae` and assert it succeeded, showing its output where not."""
    result = vae(*args)
    assert result.exit_code == 0, result.output
    return result
