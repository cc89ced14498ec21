"""Fuzzing every loader: mutated checkpoints, resume states, atlases and IDX files either load and work, or give one
VaeError line. Never a crash of the interpreter, a traceback, a hang, or an allocation far beyond the file's size.

Hypothesis mutates valid seed files (their bytes, their header JSON, tensor shapes, dtypes and values, metadata
values) and a long-lived child process (tests/fuzz/worker.py) loads and uses each one, so a segfault kills the child,
not pytest, and shows here with the input that caused it. Profiles: see tests/conftest.py.
"""

from __future__ import annotations

import gzip
import json
import os
import select
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from tests.conftest import fake_digits
from tests.fuzz.worker import fake_train_set
from vae_core.atlas import build_atlas, save_atlas
from vae_core.data import MNIST, ImageSet, write_idx
from vae_core.model import VAEConfig
from vae_core.paths import resume_path_for
from vae_core.recipes import recipe
from vae_core.training import train

WORKER = Path(__file__).with_name("worker.py")
ANSWER_TIMEOUT_S = 30.0
"""Longer than any input takes on a busy 2-core machine (a resume: under a second); a hang blows past it."""
TRAIN_SIZE = 64
SMALL = VAEConfig(hidden_dim=16)
"""The seeds' network: small, so a resume file is 60 kB and a mutated one loads in milliseconds."""


class Worker:
    """The child process that loads files; restarted after it dies or hangs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[str] | None = None
        self.tally: dict[str, int] = {}
        self.stats_file = os.environ.get("VAE_FUZZ_STATS")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(self.folder / "worker-stderr.txt").open("a"),
            text=True,
            env=os.environ | {"OMP_NUM_THREADS": "1"},
        )
        assert self.read(120.0) == {"outcome": "ready"}

    def read(self, timeout: float) -> dict[str, Any] | None:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        return json.loads(line) if line else None

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.read(ANSWER_TIMEOUT_S)
        if answer is None:
            self.process.kill()
            code = self.process.wait()
            answer = {"outcome": "hung" if code == -9 else "died", "returncode": code}
            self.process = None
        self.count(f"{request['kind']} {answer['outcome']}")
        return answer

    def count(self, key: str) -> None:
        self.tally[key] = self.tally.get(key, 0) + 1
        if self.stats_file:  # replaced whole, so a run killed by `timeout` leaves its last tally readable
            partial = Path(f"{self.stats_file}.part")
            partial.write_text(json.dumps(self.tally, indent=1, sort_keys=True))
            partial.replace(self.stats_file)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    child = Worker(tmp_path_factory.mktemp("worker"))
    yield child
    child.stop()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Valid files to mutate: a checkpoint and its resume state after one epoch, an atlas, a test split's IDX files."""
    folder = tmp_path_factory.mktemp("seeds")
    checkpoint = folder / "m.safetensors"
    config = recipe("plain", epochs=2, batch_size=32)
    result = train(fake_train_set(TRAIN_SIZE), None, config, "cpu", out=checkpoint, model_config=SMALL)
    images, labels = fake_digits(100, seed=5)
    test_set = ImageSet(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)), "mnist", "test", "fuzz")
    save_atlas(folder / "m.atlas.safetensors", build_atlas(result.model, test_set, 50))
    idx = folder / "idx"
    idx.mkdir()
    images_file, labels_file = MNIST.files["test"]
    write_idx(idx / images_file.name, images)
    write_idx(idx / labels_file.name, labels)
    return {
        "checkpoint": checkpoint,
        "resume": resume_path_for(checkpoint),
        "atlas": folder / "m.atlas.safetensors",
        "images": idx / images_file.name,
        "labels": idx / labels_file.name,
    }


class Mutated:
    """A mutated file, shown in a failure report by what was done to it rather than by its bytes (a plain class:
    Hypothesis prints a dataclass field by field)."""

    def __init__(self, data: bytes, description: str) -> None:
        self.data, self.description = data, description

    def __repr__(self) -> str:
        return f"Mutated({self.description!r}, {len(self.data):,} bytes)"


def check(worker: Worker, request: dict[str, Any], description: str) -> None:
    """The input loaded and worked, or was refused with one VaeError line: anything else fails with the input."""
    answer = worker.ask(request)
    assert answer["outcome"] in ("ok", "error"), f"{description}\n{answer}"
    if answer["outcome"] == "error":
        message = answer["message"]
        assert message and "\n" not in message and "Traceback" not in message, f"{description}\n{message!r}"


# ---- mutations ------------------------------------------------------------------------------------------------------

INTERESTING_INTS = st.sampled_from([0, 1, -1, 2, 3, 255, 256, 2**31 - 1, 2**32, 2**53, 2**63 - 1, 2**63, 2**64, 10**30])
NUMBERS = INTERESTING_INTS | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
DTYPES = [
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.uint8,
    torch.bool,
]
FILLS = [0.0, 1.0, -1.0, 1e30, float("nan"), float("inf"), -float("inf")]


@st.composite
def raw_json(draw: st.DrawFn) -> str:
    """Text that is hostile as JSON: deep nesting, long strings, not JSON at all."""
    size = draw(st.integers(1, 200_000))
    return draw(
        st.sampled_from(["[" * size, '{"a":' * size + "1" + "}" * size, '"' + "x" * size + '"', "x" * size, "NaN"])
        | st.text(max_size=40)
    )


@st.composite
def tensor_like(draw: st.DrawFn, shape: tuple[int, ...]) -> torch.Tensor:
    """A tensor near ``shape`` (the same, one size changed, or another rank) of any dtype, filled with one value."""
    new_shape = draw(
        st.just(list(shape))
        | st.lists(st.integers(0, 6), max_size=4)
        | st.integers(0, max(0, len(shape) - 1)).flatmap(
            lambda axis: st.integers(0, 1000).map(lambda size: [*shape[:axis], size, *shape[axis + 1 :]][: len(shape)])
        )
    )
    dtype, fill = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(FILLS))
    value = torch.full(new_shape, fill)
    return value.to(dtype) if dtype.is_floating_point else value.nan_to_num(0, 7, -7).to(dtype)


def replace_at(value: Any, path: list[Any], new: Any) -> Any:
    """``value`` with the item at ``path`` (keys and indices) replaced by ``new``."""
    if not path:
        return new
    head, *rest = path
    if isinstance(value, dict) and head in value:
        return value | {head: replace_at(value[head], rest, new)}
    if isinstance(value, list) and isinstance(head, int) and head < len(value):
        return [*value[:head], replace_at(value[head], rest, new), *value[head + 1 :]]
    return value


@st.composite
def json_path(draw: st.DrawFn, value: Any) -> list[Any]:
    """A path to some item inside a JSON value (possibly the whole value)."""
    path: list[Any] = []
    while isinstance(value, dict | list) and value and draw(st.integers(0, 3)) > 0:
        key = draw(st.sampled_from(sorted(value))) if isinstance(value, dict) else draw(st.integers(0, len(value) - 1))
        path.append(key)
        value = value[key]
    return path


def split_header(data: bytes) -> tuple[dict[str, Any], bytes]:
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def join_header(header: dict[str, Any], body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


@st.composite
def mutated_safetensors(draw: st.DrawFn, data: bytes) -> Mutated:
    """A seed file changed in one way (its bytes, header, a tensor, a metadata value), with a description."""
    header, body = split_header(data)
    metadata = header.get("__metadata__", {})
    names = sorted(key for key in header if key != "__metadata__")
    kind = draw(st.sampled_from(["bytes", "header", "tensor", "drop", "extra", "metadata", "metadata-raw"]))
    description = kind
    if kind == "header":
        name, field = draw(st.sampled_from(names)), draw(st.sampled_from(["shape", "dtype", "data_offsets"]))
        new = draw(
            st.lists(INTERESTING_INTS | st.integers(0, 1000), max_size=4)
            if field != "dtype"
            else st.sampled_from(["F32", "F64", "F16", "BF16", "I64", "I8", "U8", "BOOL", "F8_E4M3", "XX"])
        )
        header[name] = header[name] | {field: new}
        data, description = join_header(header, body), f"header {name}.{field} = {new!r}"
    elif kind in ("tensor", "drop", "extra", "metadata", "metadata-raw"):
        tensors = load_safetensors_bytes(data)
        if kind == "tensor":
            name = draw(st.sampled_from(names))
            tensors[name] = draw(tensor_like(tuple(tensors[name].shape)))
            description = (
                f"tensor {name} = {tensors[name].dtype} {list(tensors[name].shape)} {tensors[name].flatten()[:1]}"
            )
        elif kind == "drop":
            name = draw(st.sampled_from(names))
            del tensors[name]
            description = f"drop {name}"
        elif kind == "extra":
            name = draw(st.sampled_from([*names, "adam.99.step", "ema.mu_head.bias", "x"])) + draw(
                st.sampled_from(["", ".extra", "x"])
            )
            tensors[name] = draw(tensor_like((2,)))
            description = f"extra {name}"
        else:
            key = draw(st.sampled_from(sorted(metadata)))
            if kind == "metadata":
                stored = json.loads(metadata[key])
                path = draw(json_path(stored))
                new = draw(JSON_VALUES)
                metadata = metadata | {key: json.dumps(replace_at(stored, path, new))}
                description = f"metadata {key}{path} = {new!r}"[:300]
            else:
                metadata = metadata | {key: draw(raw_json())}
                description = f"metadata {key} = {metadata[key][:60]!r}… ({len(metadata[key])} characters)"
        data = save_safetensors_bytes(tensors, metadata=metadata)
    if kind != "bytes":
        return Mutated(data, description)
    flips = draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=4))
    cut = draw(st.none() | st.integers(0, len(data)))
    changed = bytearray(data)
    for position, byte in flips:
        changed[position] = byte
    return Mutated(bytes(changed[:cut]), f"bytes {flips}, cut at {cut}")


@st.composite
def mutated_idx(draw: st.DrawFn, data: bytes) -> Mutated:
    """An IDX file with its header, values or length changed, as raw or gzip bytes (perhaps a gzip bomb)."""
    payload = bytearray(gzip.decompress(data))
    ndim = payload[3]
    kind = draw(st.sampled_from(["none", "type", "ndim", "dims", "value", "padding"]))
    if kind == "type":
        payload[2] = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]) | st.integers(0, 255))
    elif kind == "ndim":
        payload[3] = draw(st.integers(0, 255))
    elif kind == "dims":
        dims = draw(st.lists(INTERESTING_INTS.filter(lambda n: 0 <= n < 2**32) | st.integers(0, 200), min_size=ndim,
                             max_size=ndim))  # fmt: skip
        payload[4 : 4 + 4 * ndim] = struct.pack(f">{ndim}I", *dims)
    elif kind == "value":
        position = draw(st.integers(4 + 4 * ndim, len(payload) - 1))
        payload[position] = draw(st.integers(0, 255))
    elif kind == "padding":
        payload += bytes(draw(st.integers(1, 5_000_000)))
    compress = draw(st.booleans())
    result = bytearray(gzip.compress(bytes(payload), compresslevel=1) if compress else payload)
    flips = draw(st.lists(st.tuples(st.integers(0, len(result) - 1), st.integers(0, 255)), max_size=2))
    for position, byte in flips:
        result[position] = byte
    cut = draw(st.none() | st.integers(0, len(result)))
    description = f"{kind}: header {bytes(payload[:16]).hex()}, gzip {compress}, bytes {flips}, cut {cut}"
    return Mutated(bytes(result[:cut]), description)


# ---- the properties -------------------------------------------------------------------------------------------------


def test_the_seed_files_load_and_work(worker: Worker, seeds: dict[str, Path]) -> None:
    """Without this, a harness that refused everything would pass every property below."""
    for kind in ("checkpoint", "resume", "atlas"):
        assert worker.ask({"kind": kind, "path": str(seeds[kind]), "train_size": TRAIN_SIZE}) == {"outcome": "ok"}
    assert worker.ask({"kind": "idx", "path": str(seeds["images"].parent)}) == {"outcome": "ok"}


@pytest.mark.parametrize("kind", ["checkpoint", "resume", "atlas"])
def test_a_mutated_safetensors_file_loads_and_works_or_is_one_error_line(
    kind: str, worker: Worker, seeds: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp(f"fuzz-{kind}")
    original = seeds[kind].read_bytes()

    @settings(max_examples=max(10, settings().max_examples // (2 if kind == "resume" else 1)))
    @given(mutation=mutated_safetensors(original))
    def property_holds(mutation: Mutated) -> None:
        path = folder / seeds[kind].name
        path.write_bytes(mutation.data)
        check(worker, {"kind": kind, "path": str(path), "train_size": TRAIN_SIZE}, mutation.description)

    property_holds()


@pytest.mark.parametrize("which", ["images", "labels"])
def test_a_mutated_idx_file_loads_and_works_or_is_one_error_line(
    which: str, worker: Worker, seeds: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp(f"fuzz-idx-{which}")
    for name in ("images", "labels"):
        (folder / seeds[name].name).write_bytes(seeds[name].read_bytes())
    original = seeds[which].read_bytes()

    @given(mutation=mutated_idx(original))
    def property_holds(mutation: Mutated) -> None:
        (folder / seeds[which].name).write_bytes(mutation.data)
        check(worker, {"kind": "idx", "path": str(folder)}, mutation.description)

    property_holds()
