import gzip
import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import fake_digits
from vae_core.data import DATA_DIR_ENV, MNIST, IdxDataset, IdxFile, read_idx, write_idx
from vae_core.errors import VaeError


@pytest.mark.parametrize("name", ["digits.idx", "digits.idx.gz"])
def test_idx_round_trip_raw_and_gzip(tmp_path, name):
    images, _ = fake_digits(7)
    write_idx(tmp_path / name, images)
    assert np.array_equal(read_idx(tmp_path / name), images)


def test_idx_round_trip_of_labels(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "labels", labels)
    assert np.array_equal(read_idx(tmp_path / "labels"), labels)


def test_wrong_magic_number_is_rejected(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(VaeError, match="not an IDX file"):
        read_idx(tmp_path / "bad")


def test_truncated_data_is_rejected(tmp_path):
    images, _ = fake_digits(3)
    write_idx(tmp_path / "full", images)
    (tmp_path / "cut").write_bytes((tmp_path / "full").read_bytes()[:-10])
    with pytest.raises(VaeError, match="promises 2352 bytes .* has 2342"):
        read_idx(tmp_path / "cut")


def test_corrupt_gzip_is_rejected(tmp_path):
    payload = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02ab")
    (tmp_path / "bad.gz").write_bytes(payload[:12])
    with pytest.raises(VaeError, match="cannot be read as IDX"):
        read_idx(tmp_path / "bad.gz")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(VaeError, match="no such file"):
        read_idx(tmp_path / "nothing")


def test_loads_a_directory_in_mnist_layout(idx_dir):
    train = MNIST.load("train", idx_dir, download=False)
    assert train.images.shape == (200, 28, 28) and str(train.images.dtype) == "torch.uint8"
    assert len(train.labels) == 200
    assert not train.canonical
    assert "200 images" in train.describe() and "not the canonical release" in train.describe()


def test_label_count_must_match_image_count(idx_dir):
    write_idx(idx_dir / "t10k-labels-idx1-ubyte.gz", np.zeros(99, np.uint8))
    with pytest.raises(VaeError, match="99 labels for 100 images"):
        MNIST.load("test", idx_dir, download=False)


def test_images_must_be_28_by_28(idx_dir):
    write_idx(idx_dir / "t10k-images-idx3-ubyte.gz", np.zeros((100, 20, 20), np.uint8))
    with pytest.raises(VaeError, match="expected uint8 images of 28×28"):
        MNIST.load("test", idx_dir, download=False)


def test_empty_directory_says_where_it_looked(tmp_path):
    with pytest.raises(VaeError, match=f"no mnist file train-images-idx3-ubyte.gz in {tmp_path}.*--data-dir"):
        MNIST.load("train", tmp_path, download=False)


def test_directory_with_only_the_test_files(idx_dir):
    (idx_dir / "train-images-idx3-ubyte.gz").unlink()
    (idx_dir / "train-labels-idx1-ubyte.gz").unlink()
    assert len(MNIST.load("test", idx_dir, download=False)) == 100
    with pytest.raises(VaeError, match="no mnist file train-images"):
        MNIST.load("train", idx_dir, download=False)


def test_real_mnist_test_set_is_canonical(mnist_dir):
    test = MNIST.load("test", mnist_dir, download=False)
    assert len(test) == 10_000 and test.canonical
    train = MNIST.load("train", mnist_dir, download=False)
    assert len(train) == 24_680 and not train.canonical


# ---- downloads from a local HTTP server ------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served; stopped when the test ends."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _dataset(url: str, files: dict) -> IdxDataset:
    return IdxDataset(name="local", mirrors=(url,), files=files, credit="test data")


def _serve_split(served: Path, count: int) -> tuple[IdxFile, IdxFile]:
    images, labels = fake_digits(count)
    entries = []
    for name, array in (("imgs.gz", images), ("lbls.gz", labels)):
        write_idx(served / name, array)
        entries.append(IdxFile(name, hashlib.md5((served / name).read_bytes()).hexdigest()))
    return entries[0], entries[1]


def test_download_with_matching_checksum_into_the_cache(server, tmp_path, monkeypatch):
    served, url = server
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "cache"))
    dataset = _dataset(url, {"test": _serve_split(served, 30)})
    progress = []
    test = dataset.load("test", progress=lambda name, done, total: progress.append((name, done, total)))
    assert len(test) == 30 and test.canonical
    assert (tmp_path / "cache" / "local" / "imgs.gz").read_bytes() == (served / "imgs.gz").read_bytes()
    assert progress and progress[-1][1] == progress[-1][2] > 0


def test_checksum_mismatch_leaves_no_file_and_names_the_mirror(server, tmp_path):
    served, url = server
    images_file, _ = _serve_split(served, 5)
    wrong = IdxFile(images_file.name, "0" * 32)
    with pytest.raises(VaeError, match=f"could not download imgs.gz; tried {url}imgs.gz: .*hash"):
        _dataset(url, {}).download(wrong, tmp_path / "cache", retries=0)
    assert not (tmp_path / "cache" / "imgs.gz").exists()


def test_http_error_names_the_mirror(server, tmp_path):
    _, url = server
    with pytest.raises(VaeError, match=f"tried {url}missing.gz: HTTPError: 404"):
        _dataset(url, {}).download(IdxFile("missing.gz", "0" * 32), tmp_path / "cache", retries=0)
    assert not list((tmp_path / "cache").glob("missing*"))


def test_second_mirror_is_tried_after_the_first_fails(server, tmp_path):
    served, url = server
    images_file, _ = _serve_split(served, 5)
    dataset = IdxDataset("local", (url + "nowhere/", url), {}, "test data")
    path = dataset.download(images_file, tmp_path / "cache", retries=0)
    assert path.read_bytes() == (served / "imgs.gz").read_bytes()


class _MisbehavingHandler(SimpleHTTPRequestHandler):
    """Stalls (never answers in time) or cuts its response short, depending on the path."""

    def do_GET(self):
        if self.path.endswith("stall.gz"):
            self.server.release.wait(10)
            return
        body = b"\x00" * 1000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) * 2))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def bad_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _MisbehavingHandler)
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


def test_a_stalled_server_times_out_and_names_the_mirror(bad_server, tmp_path):
    with pytest.raises(VaeError, match=f"tried {bad_server}stall.gz: .*(Timeout|timed out)"):
        _dataset(bad_server, {}).download(IdxFile("stall.gz", "0" * 32), tmp_path / "cache", retries=0, timeout=0.5)
    assert not list((tmp_path / "cache").glob("stall*"))


def test_a_response_cut_short_leaves_no_partial_file(bad_server, tmp_path):
    with pytest.raises(VaeError, match=f"tried {bad_server}short.gz: .*IncompleteRead"):
        _dataset(bad_server, {}).download(IdxFile("short.gz", "0" * 32), tmp_path / "cache", retries=0)
    assert not list((tmp_path / "cache").glob("short*"))


def test_connection_refused_names_the_mirror(tmp_path):
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    with pytest.raises(VaeError, match=f"tried {url}x.gz: ConnectionError"):
        _dataset(url, {}).download(IdxFile("x.gz", "0" * 32), tmp_path / "cache", retries=0)
