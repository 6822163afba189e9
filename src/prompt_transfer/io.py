"""Atomic file output and safe tensor input.

Every writer goes through `atomic_path`: the content lands in a temporary file in the
destination folder and is renamed over the target only once complete, so a killed job
never leaves a half-written result that Snakemake (or a reader) could mistake for output.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import torch
from safetensors.torch import load_file, save_file

from .errors import FileFormatError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def file_sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_json(path):
    """JSON from a file (a leading byte-order mark is skipped); FileFormatError names the line."""
    with open(path, encoding="utf-8-sig") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise FileFormatError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None


def write_jsonl(path, rows: Iterable[dict]) -> None:
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def write_csv(path, frame) -> None:
    """Write a pandas DataFrame as CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


METADATA_KEY = "prompt_transfer"


def save_tensors(path, tensors: dict[str, torch.Tensor], metadata: dict | None = None) -> None:
    """Save tensors as safetensors, with `metadata` as one sorted JSON string.

    One key, because safetensors writes its metadata map in hash order: several keys would
    make identical results differ byte for byte.
    """
    meta = {METADATA_KEY: json.dumps(metadata or {}, sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=meta)


def load_tensors(path) -> tuple[dict[str, torch.Tensor], dict]:
    """Load a safetensors file and its JSON-decoded metadata (no code is ever executed)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
        tensors = load_file(str(path))
    except SafetensorError as e:
        raise FileFormatError(f"{path}: not a valid safetensors file ({e})") from None
    meta = json.loads(raw[METADATA_KEY]) if METADATA_KEY in raw else dict(raw)
    return tensors, meta
