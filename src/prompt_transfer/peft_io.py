"""Soft prompts as HF PEFT prompt-tuning adapters: out (`export_adapter`) and in (`read_peft_adapter`).

A PEFT prompt-tuning adapter is a folder with `adapter_config.json` (a `PromptTuningConfig`) and
`adapter_model.safetensors` (one tensor, `prompt_embeddings` [virtual tokens, d]).
`PeftModel.from_pretrained(base, folder)` puts those rows in front of the input embeddings, as
the scorers do with a prompt, so the backbone's forward pass is the same. What PEFT has no field
for (the task's template and label words, the scorer family's read-out, where the prompt came
from) goes into a side file, `prompt_transfer.json`, in the same folder. `class_logits` turns a
PEFT model's output into a scorer's class logits; docs/paper-protocol.md says for which scorer
families PEFT's output alone holds them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from .errors import FileFormatError, PromptShapeError, UserError
from .families import REGISTRY
from .io import file_sha256, load_tensors, read_json, save_tensors, write_json
from .prompt_sources import ADAPTER_CONFIG, ADAPTER_WEIGHTS, is_hub_id
from .specs import TrainJob

LEGACY_WEIGHTS = "adapter_model.bin"  # PEFT before safetensors; read weights-only
SIDE_FILE = "prompt_transfer.json"
PROMPT_KEY = "prompt_embeddings"

# --- out --------------------------------------------------------------------------------------


def adapter_config(length: int, hidden_size: int, family: str, base_model: str, init: str | None = None) -> dict:
    """The adapter_config.json of a prompt of `length` x `hidden_size` for `family`'s backbone,
    written by PEFT's own config class (so its fields are those of the installed PEFT)."""
    import peft

    config = peft.PromptTuningConfig(
        task_type=REGISTRY[family].peft_task_type,
        num_virtual_tokens=length,
        token_dim=hidden_size,
        num_transformer_submodules=1,  # seq2seq too: PEFT's prompt tuning feeds only the encoder
        prompt_tuning_init="SAMPLE_VOCAB" if init == "vocab" else "RANDOM",
        base_model_name_or_path=base_model,
        inference_mode=True,
    ).to_dict()
    return {**json.loads(json.dumps(config, default=list)), "peft_version": peft.__version__}


def base_model_of(manifest_path) -> str:
    """What PEFT's base_model_name_or_path holds: the hub id of a hub backbone, else its folder."""
    from .backbones import model_folder

    return read_json(manifest_path)["source"].get("hub") or str(model_folder(manifest_path))


def export_adapter(prompt: torch.Tensor, out_dir, config: dict, side: dict) -> None:
    """Write the adapter folder `out_dir` whole: its files appear together or not at all."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        write_json(tmp / ADAPTER_CONFIG, config)
        save_tensors(tmp / ADAPTER_WEIGHTS, {PROMPT_KEY: prompt.float()})
        write_json(tmp / SIDE_FILE, side)
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_export_job(job: TrainJob, manifest_path, prompt_path, out_dir, threads=None) -> dict:
    """The export_peft rule: one trained prompt as a PEFT adapter folder for its backbone."""
    from .prompts import load_prompt
    from .input_checks import default_template

    prompt, meta = load_prompt(prompt_path)
    family = job.backbone.scorer
    base_model = base_model_of(manifest_path)
    config = adapter_config(prompt.shape[0], prompt.shape[1], family, base_model, job.training.prompt_init)
    templates = job.task.templates
    side = {
        "backbone": {**job.backbone.to_dict(), "base_model": base_model},
        "task": {
            **job.task.to_dict(),
            "template": templates.get(family) or templates.get("default"),
            "default_template": {"one text": default_template(False), "two texts": default_template(True)},
            # what the causal scorer puts before a label word to tokenise it; the others, nothing
            "label_word_prefix": job.backbone.scorer_options.get("label_word_prefix", " ")
            if family == "causal"
            else "",
        },
        "scorer": {
            "family": family,
            "peft_task_type": REGISTRY[family].peft_task_type,
            "read_out": REGISTRY[family].read_out,
        },
        "prompt": {"file": str(prompt_path), "sha256": file_sha256(prompt_path), "shape": list(prompt.shape)},
        "training": meta,
    }
    export_adapter(prompt, out_dir, config, side)
    return side


# --- in ---------------------------------------------------------------------------------------


def _local_folder(path_or_id) -> Path:
    """The adapter's folder: a local path, or a hub id (owner/name) snapshotted from the HF hub."""
    path = Path(path_or_id)
    if path.exists():
        if not path.is_dir():
            raise FileFormatError(f"{path}: a PEFT adapter is a folder (with {ADAPTER_CONFIG}), not a file")
        return path
    text = str(path_or_id)
    if not is_hub_id(text):
        raise FileNotFoundError(f"{text}: no such PEFT adapter folder")
    from huggingface_hub import snapshot_download

    try:
        return Path(
            snapshot_download(text, allow_patterns=[ADAPTER_CONFIG, ADAPTER_WEIGHTS, LEGACY_WEIGHTS, SIDE_FILE])
        )
    except Exception as e:  # offline, unknown repo, no access: one line naming the id
        raise UserError(f"{text}: no local folder of that name, and the HF hub gave no adapter ({type(e).__name__})")


def _weights(folder: Path) -> tuple[Path, dict]:
    """The adapter's weights file and its tensors."""
    if (folder / ADAPTER_WEIGHTS).is_file():
        return folder / ADAPTER_WEIGHTS, load_tensors(folder / ADAPTER_WEIGHTS)[0]
    if (folder / LEGACY_WEIGHTS).is_file():
        from .prompts import _torch_load

        loaded = _torch_load(folder / LEGACY_WEIGHTS)
        if isinstance(loaded, dict):
            return folder / LEGACY_WEIGHTS, loaded
        raise FileFormatError(f"{folder / LEGACY_WEIGHTS}: expected a dictionary of tensors")
    raise FileFormatError(f"{folder}: PEFT adapter without {ADAPTER_WEIGHTS}")


def read_peft_adapter(path_or_id, expected_hidden_size: int | None = None) -> tuple[torch.Tensor, dict]:
    """A PEFT prompt-tuning adapter (folder or hub id) as a [L, d] float prompt and what it says
    about itself: info has source, base_model, task_type, num_virtual_tokens, token_dim,
    peft_version, and `prompt_transfer` (the side file of an adapter this project exported).

    Other PEFT methods (LoRA, prefix tuning, p-tuning, ...), missing or corrupt files and a
    prompt whose width is not `expected_hidden_size` are UserErrors naming the adapter.
    """
    folder = _local_folder(path_or_id)
    if not (folder / ADAPTER_CONFIG).is_file():
        raise FileFormatError(f"{folder}: not a PEFT adapter folder (no {ADAPTER_CONFIG})")
    config = read_json(folder / ADAPTER_CONFIG)
    if not isinstance(config, dict):
        raise FileFormatError(f"{folder / ADAPTER_CONFIG}: expected a JSON object")
    kind = config.get("peft_type")
    if kind != "PROMPT_TUNING":
        raise UserError(
            f"{path_or_id}: a PEFT {kind or 'adapter of unknown type'} adapter; only PROMPT_TUNING adapters are soft "
            "prompts that can be read"
        )
    weights_file, tensors = _weights(folder)
    if PROMPT_KEY not in tensors:
        raise FileFormatError(f"{folder}: no tensor named {PROMPT_KEY!r} in the adapter (found {sorted(tensors)})")
    from .prompts import checked_values

    rows = checked_values(tensors[PROMPT_KEY], weights_file)
    length = config.get("num_virtual_tokens")
    if rows.dim() != 2 or not isinstance(length, int) or rows.shape[0] < length:
        raise PromptShapeError(
            f"{path_or_id}: prompt_embeddings of shape {list(rows.shape)} do not match num_virtual_tokens={length}"
        )
    # Seq2seq adapters with num_transformer_submodules=2 hold 2L rows; PEFT's prompt tuning
    # feeds the first L to the encoder and no others.
    prompt = rows[:length].contiguous()
    if expected_hidden_size is not None and prompt.shape[1] != expected_hidden_size:
        raise PromptShapeError(
            f"{path_or_id}: prompt of shape {list(prompt.shape)} does not fit this backbone ([L, {expected_hidden_size}])"
        )
    side = read_json(folder / SIDE_FILE) if (folder / SIDE_FILE).is_file() else None
    info = {
        "source": str(path_or_id),
        "base_model": config.get("base_model_name_or_path"),
        "task_type": config.get("task_type"),
        "num_virtual_tokens": length,
        "token_dim": prompt.shape[1],
        "peft_version": config.get("peft_version"),
        "prompt_transfer": side,
    }
    return prompt, info


# --- PEFT output -> class logits --------------------------------------------------------------


def class_logits(output, scorer, batch, length: int) -> torch.Tensor:
    """A scorer's [B, C] class logits from the output of its backbone wrapped by PEFT with a
    `length`-token prompt, called as peft_model(input_ids=batch.ids, attention_mask=batch.mask)
    (seq2seq: plus decoder_input_ids, the decoder start token)."""
    rows = torch.arange(len(batch), device=batch.ids.device)
    if scorer.family == "embedding":
        hidden = output.last_hidden_state[:, length:]
        weights = batch.mask.unsqueeze(-1).to(hidden.dtype)
        pooled = torch.nn.functional.normalize(((hidden * weights).sum(1) / weights.sum(1)).float(), dim=-1)
        return scorer.scale * pooled @ scorer.label_vectors.T
    if scorer.family == "seq2seq":
        token_logits = output.logits[:, 0]
    else:  # causal, mlm: the read-out position, after the prompt
        token_logits = output.logits[rows, length + batch.read_index]
    return scorer.class_logits(token_logits[:, scorer.label_token_ids])


def peft_forward(peft_model, scorer, batch):
    """peft_model's output on a scorer's batch, called the way `class_logits` expects."""
    kwargs = {"input_ids": batch.ids, "attention_mask": batch.mask}
    if scorer.family == "seq2seq":
        start = scorer.model.config.decoder_start_token_id
        kwargs["decoder_input_ids"] = torch.full((len(batch), 1), start, device=batch.ids.device)
    return peft_model(**kwargs)


# --- the round trip, measured -----------------------------------------------------------------


def specs_of(side: dict):
    """(Backbone, Task, max_length) of an exported adapter, from its side file."""
    import dataclasses

    from .specs import Backbone, Task

    def known(cls, values):
        return cls.from_dict({f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})

    max_length = side["training"]["settings"]["max_length"]
    return known(Backbone, side["backbone"]), known(Task, side["task"]), max_length


def compare_with_peft(adapter, manifest, rows: list[dict], batch_size: int = 16, threads=None) -> dict:
    """Class logits of `rows` by the workflow's scorer with the adapter's prompt against those
    of the backbone loaded again and wrapped by `PeftModel.from_pretrained(base, adapter)`, in
    fp32: the largest absolute difference, and the predictions and accuracy of both."""
    from peft import PeftModel

    from .backbones import load_backbone
    from .runtime import setup_runtime
    from .session import Session

    side = read_json(Path(adapter) / SIDE_FILE)
    backbone, task, max_length = specs_of(side)
    runtime = setup_runtime(threads, "fp32")
    scorer = Session().scorer(manifest, backbone, task, max_length, runtime)
    prompt, _ = read_peft_adapter(adapter, scorer.hidden_size)
    base, _ = load_backbone(manifest, backbone.scorer, backbone.dtype, runtime.device)
    peft_model = PeftModel.from_pretrained(base, adapter).eval()
    ours, theirs, labels = [], [], []
    items = scorer.encode(rows)
    with torch.no_grad():
        for start in range(0, len(items), batch_size):
            batch = scorer.collate(items[start : start + batch_size]).to(runtime.device)
            ours.append(scorer.logits(prompt.to(runtime.device), batch).cpu())
            theirs.append(class_logits(peft_forward(peft_model, scorer, batch), scorer, batch, len(prompt)).cpu())
            labels.append(batch.labels.cpu())
    ours, theirs, labels = torch.cat(ours), torch.cat(theirs), torch.cat(labels)
    return {
        "adapter": str(adapter),
        "peft_model": type(peft_model).__name__,
        "examples": len(items),
        "max_abs_logit_difference": (ours - theirs).abs().max().item(),
        "max_abs_logit": ours.abs().max().item(),
        "same_predictions": int((ours.argmax(1) == theirs.argmax(1)).sum()),
        "accuracy_scorer": (ours.argmax(1) == labels).float().mean().item(),
        "accuracy_peft": (theirs.argmax(1) == labels).float().mean().item(),
    }
