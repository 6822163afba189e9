"""Rule import_prompt: prompts trained elsewhere read into this project's prompt files, and the
readers of each layout of prompt_sources (the authors' torch files, PEFT adapters)."""

from __future__ import annotations

import logging

from .errors import ConfigError, PromptShapeError
from .prompt_sources import LAYOUTS


def read_su2022(location: str, expected_hidden_size: int | None) -> tuple:
    """A torch-saved [L, d] tensor, loaded weights-only; its width must be the backbone's."""
    from .prompts import load_prompt

    prompt, _ = load_prompt(location)
    if expected_hidden_size is not None and prompt.shape[1] != expected_hidden_size:
        raise PromptShapeError(
            f"{location}: prompt of shape {list(prompt.shape)} does not fit this backbone (width {expected_hidden_size})"
        )
    return prompt, {"layout": "su2022", "file": location, "shape": list(prompt.shape)}


def read_peft(location: str, expected_hidden_size: int | None) -> tuple:
    from .peft_io import read_peft_adapter

    prompt, info = read_peft_adapter(location, expected_hidden_size)
    return prompt, {"layout": "peft", "shape": list(prompt.shape), **{k: v for k, v in info.items() if v is not None}}


READERS = {"su2022": read_su2022, "peft": read_peft}
assert READERS.keys() == LAYOUTS.keys()


def read(source_layout: str, location: str, expected_hidden_size: int | None = None) -> tuple:
    return READERS[source_layout](location, expected_hidden_size)


def model_hidden_size(manifest_path) -> int:
    """The backbone's embedding width from its HF config.json, without loading weights."""
    from .backbones import model_folder
    from .io import read_json

    config = read_json(model_folder(manifest_path) / "config.json")
    for key in ("hidden_size", "d_model", "n_embd"):
        if key in config:
            return int(config[key])
    raise ConfigError(f"{manifest_path}: its config.json names no hidden size (hidden_size, d_model)")


def run_import_job(job, manifest_path, out, threads=None) -> None:
    """Rule import_prompt: one task's prompt from a source, checked against the backbone's width,
    written as this project's prompt file with where it came from."""
    from .prompts import save_prompt

    prompt, facts = read(job.layout, job.location, model_hidden_size(manifest_path))
    logging.getLogger(__name__).info("%s: %s prompt of shape %s", job.task, job.layout, list(prompt.shape))
    save_prompt(out, prompt, {"backbone": job.backbone, "task": job.task, "source": facts})
