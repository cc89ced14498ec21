import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import fake_digits
from vae_core.data import DATA_DIR_ENV, MNIST, IdxDataset, IdxFile, read_idx, seeded_sample, write_idx
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


def _dataset(url: str, files: dict, timeout_s: float = 30.0) -> IdxDataset:
    return IdxDataset("local", (url,), files, "test data", download_timeout_s=timeout_s, download_retries=0)


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
        _dataset(url, {}).download(wrong, tmp_path / "cache")
    assert not (tmp_path / "cache" / "imgs.gz").exists()


def test_http_error_names_the_mirror(server, tmp_path):
    _, url = server
    with pytest.raises(VaeError, match=f"tried {url}missing.gz: HTTPError: 404"):
        _dataset(url, {}).download(IdxFile("missing.gz", "0" * 32), tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("missing*"))


def test_second_mirror_is_tried_after_the_first_fails(server, tmp_path):
    served, url = server
    images_file, _ = _serve_split(served, 5)
    dataset = IdxDataset("local", (url + "nowhere/", url), {}, "test data", download_retries=0)
    path = dataset.download(images_file, tmp_path / "cache")
    assert path.read_bytes() == (served / "imgs.gz").read_bytes()


def test_a_stalled_server_times_out_and_names_the_mirror(bad_server, tmp_path):
    with pytest.raises(VaeError, match=f"tried {bad_server}stall.gz: .*(Timeout|timed out)"):
        _dataset(bad_server, {}, timeout_s=0.5).download(IdxFile("stall.gz", "0" * 32), tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("stall*"))


def test_a_response_cut_short_leaves_no_partial_file(bad_server, tmp_path):
    with pytest.raises(VaeError, match=f"tried {bad_server}short.gz: .*IncompleteRead"):
        _dataset(bad_server, {}).download(IdxFile("short.gz", "0" * 32), tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("short*"))


def test_connection_refused_names_the_mirror(refused_url, tmp_path):
    with pytest.raises(VaeError, match=f"tried {refused_url}x.gz: ConnectionError"):
        _dataset(refused_url, {}).download(IdxFile("x.gz", "0" * 32), tmp_path / "cache")


def test_a_seeded_sample_is_the_same_for_the_same_seed_and_distinct_items():
    first = seeded_sample(100, 10, seed=3)
    assert torch.equal(first, seeded_sample(100, 10, seed=3)) and len(set(first.tolist())) == 10
    assert not torch.equal(first, seeded_sample(100, 10, seed=4))
    assert sorted(seeded_sample(100, None, seed=3).tolist()) == list(range(100))
    assert torch.equal(seeded_sample(100, None, seed=3)[:10], first)  # a larger sample begins with the smaller one
