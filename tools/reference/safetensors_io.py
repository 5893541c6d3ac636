"""Minimal safetensors reader/writer (stdlib + numpy only).

Supports BF16, F16, F32 and F64 tensors, single files and sharded checkpoints described by
`model.safetensors.index.json`. Kept independent of the `safetensors` package on purpose: the
reference must run on a bare Debian python3 with python3-numpy.
"""

import json
import os
import struct

import numpy as np

# Bytes per element and the numpy dtype used to view the raw little-endian payload.
_STORAGE = {
    "BF16": (2, np.dtype("<u2")),
    "F16": (2, np.dtype("<f2")),
    "F32": (4, np.dtype("<f4")),
    "F64": (8, np.dtype("<f8")),
}

INDEX_FILE_NAME = "model.safetensors.index.json"
SINGLE_FILE_NAME = "model.safetensors"


class SafetensorsError(Exception):
    pass


def _decode(raw, dtype_name, shape):
    element_bytes, storage = _STORAGE[dtype_name]
    values = np.frombuffer(raw, dtype=storage)
    if dtype_name == "BF16":
        # bf16 is the upper half of an IEEE float32.
        values = (values.astype(np.uint32) << 16).view(np.float32)
    return values.astype(np.float64).reshape(shape)


def _encode(array, dtype_name):
    array = np.ascontiguousarray(array)
    if dtype_name == "BF16":
        bits = array.astype(np.float32).view(np.uint32).astype(np.uint64)
        # Round to nearest, ties to even (what torch does when casting float32 -> bfloat16).
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        return rounded.astype("<u2").tobytes()
    if dtype_name not in _STORAGE:
        raise SafetensorsError(f"cannot write dtype {dtype_name}")
    return array.astype(_STORAGE[dtype_name][1]).tobytes()


def quantize(array, dtype_name):
    """Returns `array` as it will read back after being stored as `dtype_name` (float64)."""
    array = np.asarray(array, dtype=np.float64)
    return _decode(_encode(array, dtype_name), dtype_name, array.shape)


def read_safetensors_file(path):
    """Returns {name: float64 ndarray} for every tensor in one .safetensors file."""
    with open(path, "rb") as handle:
        blob = handle.read()
    if len(blob) < 8:
        raise SafetensorsError(f"{path}: file too short for a safetensors header")
    (header_size,) = struct.unpack("<Q", blob[:8])
    if header_size > len(blob) - 8:
        raise SafetensorsError(f"{path}: header size {header_size} exceeds file size {len(blob)}")
    try:
        header = json.loads(blob[8:8 + header_size])
    except ValueError as error:
        raise SafetensorsError(f"{path}: header is not valid JSON ({error})")
    data = memoryview(blob)[8 + header_size:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype_name = info.get("dtype")
        if dtype_name not in _STORAGE:
            raise SafetensorsError(f"{path}: tensor {name} has unsupported dtype {dtype_name}")
        shape = [int(d) for d in info["shape"]]
        begin, end = (int(v) for v in info["data_offsets"])
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= begin <= end <= len(data)) or end - begin != count * _STORAGE[dtype_name][0]:
            raise SafetensorsError(f"{path}: tensor {name} has bad data_offsets {begin}..{end}")
        tensors[name] = _decode(data[begin:end], dtype_name, shape)
    return tensors


def read_checkpoint(model_dir):
    """Reads every tensor of a checkpoint folder (single file or sharded via the index)."""
    index_path = os.path.join(model_dir, INDEX_FILE_NAME)
    if os.path.exists(index_path):
        with open(index_path) as handle:
            weight_map = json.load(handle)["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            for name, value in read_safetensors_file(os.path.join(model_dir, shard)).items():
                if weight_map.get(name) == shard:
                    tensors[name] = value
        missing = sorted(set(weight_map) - set(tensors))
        if missing:
            raise SafetensorsError(f"{index_path}: tensors listed but not found: {missing[:5]}")
        return tensors
    single_path = os.path.join(model_dir, SINGLE_FILE_NAME)
    if not os.path.exists(single_path):
        raise SafetensorsError(f"{model_dir}: neither {SINGLE_FILE_NAME} nor {INDEX_FILE_NAME}")
    return read_safetensors_file(single_path)


def write_safetensors_file(path, tensors, dtype_name):
    """Writes {name: ndarray} to `path`, every tensor stored as `dtype_name`, in name order."""
    header = {"__metadata__": {"format": "pt"}}
    payloads = []
    offset = 0
    for name in sorted(tensors):
        raw = _encode(np.asarray(tensors[name]), dtype_name)
        header[name] = {
            "dtype": dtype_name,
            "shape": list(np.shape(tensors[name])),
            "data_offsets": [offset, offset + len(raw)],
        }
        payloads.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    # The format asks for the data section to start 8-byte aligned; pad the header with spaces.
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(header_bytes)))
        handle.write(header_bytes)
        for raw in payloads:
            handle.write(raw)
    return offset


def write_sharded_checkpoint(model_dir, tensors, dtype_name, shard_count):
    """Splits tensors (in name order) into `shard_count` files of similar size plus the index."""
    names = sorted(tensors)
    sizes = [np.asarray(tensors[n]).size for n in names]
    total = sum(sizes)
    shards = [[] for _ in range(shard_count)]
    running = 0
    for name, size in zip(names, sizes):
        shard = min(shard_count - 1, running * shard_count // max(total, 1))
        shards[shard].append(name)
        running += size
    weight_map = {}
    total_bytes = 0
    for number, shard_names in enumerate(shards, start=1):
        file_name = f"model-{number:05d}-of-{shard_count:05d}.safetensors"
        total_bytes += write_safetensors_file(
            os.path.join(model_dir, file_name), {n: tensors[n] for n in shard_names}, dtype_name)
        for name in shard_names:
            weight_map[name] = file_name
    index = {"metadata": {"total_size": total_bytes}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(model_dir, INDEX_FILE_NAME), "w") as handle:
        json.dump(index, handle, indent=2)
        handle.write("\n")
