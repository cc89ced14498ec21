"""MNIST-style datasets: IDX parsing, the dataset registry entries and their protocol, verified downloads via pooch,
and the seeded draws of images (samples, splits, shuffles) that make every run repeatable."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

import numpy as np
import torch

from vae_core.errors import VaeError

Split = Literal["train", "test"]
DownloadProgress = Callable[[str, int, int], None]
"""Called as ``progress(file_name, bytes_done, bytes_total)`` while a file downloads."""

DATA_DIR_ENV = "VAE_EXPLORER_DATA"
GZIP_MAGIC = b"\x1f\x8b"
MAX_DEFLATE_RATIO = 1100
"""Deflate expands data at most about 1032-fold: a gzip file promising more than this many times its size lies."""
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip or raw) into an array, checking its header against its length.

    Nothing is allocated beyond what the header promises, and a gzip file cannot promise more than deflate could
    expand it to, so a small hostile file cannot ask for gigabytes.
    """
    path = Path(path)
    try:
        file_size = path.stat().st_size
        with path.open("rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if compressed else raw
            return _read_idx_stream(path, stream, file_size, compressed)
    except FileNotFoundError:
        raise VaeError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as error:
        raise VaeError(f"{path}: cannot be read as IDX ({error})") from None


def _read_idx_stream(path: Path, stream: BinaryIO, file_size: int, compressed: bool) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
        raise VaeError(f"{path}: not an IDX file (bad magic number {magic.hex() or 'empty'})")
    ndim = magic[3]
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise VaeError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = np.dtype(IDX_DTYPES[magic[2]])
    expected = math.prod(shape) * dtype.itemsize
    promise = f"{path}: IDX header promises {expected} bytes of data for shape {shape}"
    if not compressed and expected != file_size - 4 - 4 * ndim:
        raise VaeError(f"{promise}, file has {file_size - 4 - 4 * ndim}")
    if compressed and expected > file_size * MAX_DEFLATE_RATIO:
        raise VaeError(f"{promise}, more than a {file_size}-byte gzip file can expand to")
    data = stream.read(expected)
    extra = stream.read(1)
    if compressed and extra:
        # A gzip file damaged in its middle usually shows as data beyond the promise: read a little more so that its
        # checksum speaks (a bounded amount: it may be a bomb).
        stream.read(1 << 20)
    if len(data) != expected or extra:
        raise VaeError(f"{promise}, file has {len(data)}{' and more' if len(data) == expected else ''}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a raw IDX file (or gzip where the name ends in .gz); used by tests and tools."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = (
        struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    )
    Path(path).write_bytes(gzip.compress(payload) if str(path).endswith(".gz") else payload)


@dataclass
class ImageSet:
    """One split of a dataset: uint8 images [N, 28, 28] and int64 labels [N], kept as tensors."""

    images: torch.Tensor
    labels: torch.Tensor
    name: str
    split: str
    source: str
    canonical: bool = True

    def __len__(self) -> int:
        return len(self.labels)

    def describe(self) -> str:
        """A line for people: what was loaded and whether it is the official release."""
        note = "" if self.canonical else " (not the canonical release)"
        return f"{self.name} {self.split}: {len(self):,} images from {self.source}{note}"

    def to(self, device: torch.device | str) -> ImageSet:
        """The same set on another device; images stay uint8 (converted to float per batch)."""
        return ImageSet(
            self.images.to(device), self.labels.to(device), self.name, self.split, self.source, self.canonical
        )

    def subset(self, count: int) -> ImageSet:
        """The first ``count`` images, for quick runs and tests."""
        return ImageSet(self.images[:count], self.labels[:count], self.name, self.split, self.source, self.canonical)


class Dataset(Protocol):
    """What a dataset plugin provides (``vae_core.plugins.DATASETS`` checks it when the plugin loads)."""

    name: str

    def load(
        self,
        split: Split,
        data_dir: Path | None = None,
        download: bool = True,
        progress: DownloadProgress | None = None,
    ) -> ImageSet:
        """One split, read from ``data_dir`` or from the download cache (downloading it there where allowed)."""
        ...

    def cached_split(self, split: Split) -> Path | None:
        """The folder of the download cache holding ``split`` whole; None where it is not there yet."""
        ...


def seeded_sample(size: int, count: int | None, seed: int) -> torch.Tensor:
    """Indices of ``count`` of ``size`` items (all of them, shuffled, where None), drawn at random but the same for the
    same seed: the test digits a picture or an atlas shows, and the shuffles of training."""
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:count]


def split_train_val(size: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and validation parts, a seeded shuffle so each run holds out the same images."""
    order = seeded_sample(size, None, seed)
    val_size = round(size * val_fraction)
    return order[val_size:], order[:val_size]


def epoch_order(size: int, seed: int, epoch: int, device: torch.device) -> torch.Tensor:
    """The shuffle of one epoch, derived from (seed, epoch) so a resumed run replays it exactly."""
    return seeded_sample(size, None, (seed * 1_000_003 + epoch) % 2**64).to(device)


@dataclass(frozen=True)
class IdxFile:
    name: str
    md5: str


@dataclass(frozen=True)
class IdxDataset:
    """A 28×28 grayscale dataset in MNIST's IDX layout, downloadable from its mirrors."""

    name: str
    mirrors: tuple[str, ...]
    files: dict[str, tuple[IdxFile, IdxFile]]
    credit: str
    classes: int = 10
    """Labels run from 0 to classes - 1."""
    download_timeout_s: float = 30.0
    """How long a mirror may stay silent before the download from it fails."""
    download_retries: int = 2
    """Extra attempts per mirror; pooch waits 1 s, then 2 s, ... before each."""

    def cache_dir(self) -> Path:
        """Where downloads go: $VAE_EXPLORER_DATA/<name>, else the per-user cache directory."""
        from platformdirs import user_cache_dir

        root = os.environ.get(DATA_DIR_ENV) or user_cache_dir("vae-explorer")
        return Path(root) / self.name

    def cached_split(self, split: Split) -> Path | None:
        """The cache folder where it holds every file of ``split``, else None."""
        cache = self.cache_dir()
        return cache if all((cache / f.name).is_file() for f in self.files[split]) else None

    def load(
        self,
        split: Split,
        data_dir: Path | None = None,
        download: bool = True,
        progress: DownloadProgress | None = None,
    ) -> ImageSet:
        """Read one split from ``data_dir``, or from the cache, downloading it there when absent."""
        if data_dir is None:
            data_dir = self.cache_dir()
            missing = [f for f in self.files[split] if not (data_dir / f.name).exists()]
            if missing and download:
                for idx_file in missing:
                    self.download(idx_file, data_dir, progress)
        images_file, labels_file = (self._find(data_dir, f.name) for f in self.files[split])
        images, labels = read_idx(images_file), read_idx(labels_file)
        if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
            raise VaeError(
                f"{images_file}: expected uint8 images of 28×28, found {images.dtype} of shape {images.shape}"
            )
        if len(images) == 0:
            raise VaeError(f"{images_file}: holds no images")
        if labels.ndim != 1:
            raise VaeError(f"{labels_file}: expected one label per image (1-D), found shape {labels.shape}")
        if len(labels) != len(images):
            raise VaeError(f"{labels_file}: {len(labels)} labels for {len(images)} images in {images_file.name}")
        if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= self.classes:
            raise VaeError(
                f"{labels_file}: labels must be whole numbers from 0 to {self.classes - 1}, "
                f"found {labels.dtype} from {labels.min()} to {labels.max()}"
            )
        canonical = all(
            _md5(path) == f.md5 for path, f in zip((images_file, labels_file), self.files[split], strict=True)
        )
        return ImageSet(
            images=torch.from_numpy(images.copy()),
            labels=torch.from_numpy(labels.astype(np.int64)),
            name=self.name,
            split=split,
            source=str(data_dir),
            canonical=canonical,
        )

    def _find(self, data_dir: Path, name: str) -> Path:
        for candidate in (data_dir / name, data_dir / name.removesuffix(".gz")):
            if candidate.is_file():
                return candidate
        raise VaeError(
            f"no {self.name} file {name} in {data_dir}: pass --data-dir with MNIST's IDX files, "
            f"or let vae download them into {self.cache_dir()}"
        )

    def download(
        self,
        idx_file: IdxFile,
        target_dir: Path,
        progress: DownloadProgress | None = None,
    ) -> Path:
        """Fetch one file from the first mirror that serves it with the right checksum; atomic via pooch."""
        import pooch

        pooch.get_logger().setLevel("WARNING")  # progress goes through the callback, not pooch's log lines
        failures = []
        for mirror in self.mirrors:
            fetcher = pooch.create(
                path=target_dir,
                base_url=mirror,
                registry={idx_file.name: f"md5:{idx_file.md5}"},
                retry_if_failed=self.download_retries,
            )
            downloader = pooch.HTTPDownloader(
                progressbar=_PoochProgress(idx_file.name, progress) if progress else False,
                timeout=self.download_timeout_s,
            )
            try:
                return Path(fetcher.fetch(idx_file.name, downloader=downloader))
            except Exception as error:  # requests, hash and OS errors all mean: try the next mirror
                failures.append(f"{mirror}{idx_file.name}: {_one_line(error)}")
        raise VaeError(
            f"could not download {idx_file.name}; tried " + "; ".join(failures) + "; or pass --data-dir with the files"
        )


class _PoochProgress:
    """The small part of tqdm's interface that pooch drives, forwarded to a plain callback."""

    def __init__(self, file_name: str, callback: DownloadProgress) -> None:
        self.file_name, self.callback, self.total, self.done = file_name, callback, 0, 0

    def update(self, count: int) -> None:
        self.done += count
        self.callback(self.file_name, min(self.done, self.total or self.done), self.total)

    def reset(self) -> None:
        self.done = 0

    def close(self) -> None:
        pass


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _one_line(error: BaseException, limit: int = 100) -> str:
    """Why a download failed, in a few words: the error's type and the root cause urllib3 buries in its message."""
    text = " ".join(str(error).split())
    cause = re.search(r"Caused by (\w+)", text)
    reason = f"{type(error).__name__}: {cause.group(1) if cause else text}".rstrip(": ")
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


MNIST = IdxDataset(
    name="mnist",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    files={
        "train": (
            IdxFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            IdxFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ),
        "test": (
            IdxFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            IdxFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
        ),
    },
    credit="MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, CC BY-SA 3.0",
)
