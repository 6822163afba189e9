"""Soft prompt files: safetensors with one tensor "prompt" [L, d] and JSON metadata.

Prompts from elsewhere (e.g. released with a paper as torch-saved tensors) are read with
weights-only loading, so a file can never run code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .io import load_tensors, save_tensors
from .errors import FileFormatError, PromptShapeError


def save_prompt(path, prompt: torch.Tensor, metadata: dict) -> None:
    save_tensors(path, {"prompt": prompt.float()}, metadata)


def checked_values(tensor: torch.Tensor, where) -> torch.Tensor:
    """A prompt's values as float32. Any file from outside may hold integers, booleans, NaN or
    infinities (also float64 values past float32's range), which would be scored as if they
    were a prompt: refused naming `where`, the file."""
    if not tensor.is_floating_point():
        raise FileFormatError(
            f"{where}: prompt of {str(tensor.dtype).removeprefix('torch.')} values, not floating point"
        )
    values = tensor.float()
    bad = ~torch.isfinite(values)
    if bad.any():
        first = [int(i) for i in bad.nonzero()[0]]
        raise FileFormatError(
            f"{where}: prompt with {int(bad.sum())} NaN or infinite entries of {values.numel()} (the first at {first})"
        )
    return values


def _torch_load(path: Path):
    """torch.load, weights-only; a file it cannot read is named without torch's own text (which
    suggests the unsafe weights_only=False)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception:  # garbage raises anything from KeyError to UnpicklingError
        raise FileFormatError(f"{path}: not a torch file of plain tensors (read weights-only)") from None


def load_prompt(path, hidden_size: int | None = None) -> tuple[torch.Tensor, dict]:
    """Read a prompt file (safetensors, or a torch file loaded weights-only).

    Accepts [L, d] or a flattened [1, L*d] / [L*d] tensor when `hidden_size` tells d.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        tensors, meta = load_tensors(path)
        if "prompt" not in tensors:
            raise PromptShapeError(f"{path}: no tensor named 'prompt' (found {sorted(tensors)})")
        prompt = tensors["prompt"]
    else:
        loaded = _torch_load(path)
        if isinstance(loaded, dict):
            if len(loaded) != 1:
                raise PromptShapeError(f"{path}: expected one tensor, found keys {sorted(loaded)}")
            (loaded,) = loaded.values()
        if not isinstance(loaded, torch.Tensor):
            raise PromptShapeError(f"{path}: holds a {type(loaded).__name__}, not a tensor")
        prompt, meta = loaded, {}
    prompt = checked_values(prompt, path)
    if prompt.dim() != 2 or (hidden_size is not None and prompt.shape[1] != hidden_size):
        if (
            hidden_size is not None
            and prompt.numel() % hidden_size == 0
            and (prompt.dim() == 1 or prompt.shape[0] == 1)
        ):
            prompt = prompt.reshape(-1, hidden_size)
        else:
            expected = f"[L, {hidden_size}]" if hidden_size else "[L, d]"
            raise PromptShapeError(
                f"{path}: prompt of shape {list(prompt.shape)} does not fit this backbone ({expected})"
            )
    return prompt, meta
