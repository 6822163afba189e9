"""Neurons: the feed-forward activations a prompt evokes, and what masking them costs.

Each layer's feed-forward block is read between its two linear layers, i.e. at the input of
the second one: BERT/RoBERTa/MPNet `layer.<i>.output.dense`, Llama/Gemma `mlp.down_proj`, and
T5's decoder `DenseReluDense.wo` (the decoder side, as the paper does for T5). That is
act(W1 x) for plain blocks and act(W_gate x) * W_up x for gated ones.

Activations are read where the scorer reads its answer:
  mlm        the mask token
  causal     the last token
  seq2seq    the first decoding step
  embedding  the mean over the input tokens (the scorer's pooling; prompt slots excluded)

The stimulus is the paper's: the prompt followed by one special token and no task text (mlm:
the mask, then the start token, as the default layout places the mask right after the prompt;
in the authors' layout the mask is prompt slot 0 and the start token follows the prompt). With
`inputs` > 0 it is instead the mean over the first N training inputs of the task.
"""

from __future__ import annotations

import contextlib
import logging
import re

import torch
from torch import nn

from .evaluation import length_sorted_batches
from .runtime import Runtime
from .scorers import Batch, Encoded, Scorer
from .specs import MaskingJob, NeuronsJob

log = logging.getLogger(__name__)

# The second linear layer of each feed-forward block; group 1 is the layer index.
FFN_OUTPUT_LAYERS = (
    re.compile(r"(?:^|\.)layer\.(\d+)\.output\.dense$"),  # BERT, RoBERTa, MPNet
    re.compile(r"(?:^|\.)layers\.(\d+)\.mlp\.down_proj$"),  # Llama, SmolLM2, Gemma, Qwen, Mistral
    re.compile(r"(?:^|\.)decoder\.block\.(\d+)\.layer\.\d+\.DenseReluDense\.wo$"),  # T5 decoder, plain or gated
)


def ffn_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every layer's second feed-forward linear layer, in layer order."""
    for pattern in FFN_OUTPUT_LAYERS:
        found = sorted(
            (int(match.group(1)), name, module)
            for name, module in model.named_modules()
            if (match := pattern.search(name))
        )
        if found:
            return [(name, module) for _, name, module in found]
    raise ValueError(
        f"{type(model).__name__}: no feed-forward blocks found (known layouts: BERT/MPNet, Llama/Gemma, T5)"
    )


@contextlib.contextmanager
def forward_pre_hooks(modules: list[nn.Module], hooks: list):
    handles = [module.register_forward_pre_hook(hook) for module, hook in zip(modules, hooks)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def stimulus(scorer: Scorer) -> Encoded:
    """The paper's stimulus after the prompt: one special token (mlm: the mask, then it)."""
    tokenizer = scorer.tokenizer
    if scorer.family == "seq2seq":
        # The paper feeds T5 the prompt and <extra_id_0>; tokenizers without sentinels get </s>.
        sentinel = tokenizer.get_vocab().get("<extra_id_0>")
        token = sentinel if sentinel is not None else tokenizer.eos_token_id
    elif scorer.family == "causal":
        token = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    else:
        token = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    if token is None:
        raise ValueError(f"{type(tokenizer).__name__}: no special token to follow the prompt")
    if scorer.family == "mlm" and not getattr(scorer, "authors_layout", False):  # authors: the mask is slot 0
        return Encoded([tokenizer.mask_token_id, token], label=0, read_index=0)
    return Encoded([token], label=0, read_index=0)


def read_out(scorer: Scorer, batch: Batch, prompt_length: int):
    """A function [B, T, I] activations -> [B, I] at the scorer's read-out position."""
    family = scorer.family
    if family == "seq2seq":
        return lambda acts: acts[:, 0]  # decoder FFN, first (and only) decoding step
    if family == "embedding":
        weights = batch.mask.unsqueeze(-1)

        def mean_over_input(acts):
            w = weights.to(acts.dtype)
            return (acts[:, prompt_length:] * w).sum(1) / w.sum(1)

        return mean_over_input
    rows = torch.arange(len(batch), device=batch.ids.device)
    positions = scorer.read_positions(batch, prompt_length)
    return lambda acts: acts[rows, positions]


@torch.inference_mode()
def prompt_activations(
    scorer: Scorer, prompt: torch.Tensor, items: list[Encoded], batch_size: int, runtime: Runtime
) -> torch.Tensor:
    """Mean feed-forward activation [layers, intermediate] at the read-out position over `items`."""
    modules = [module for _, module in ffn_modules(scorer.model)]
    prompt = prompt.to(runtime.device)
    total = None
    for chunk in length_sorted_batches(items, batch_size):
        batch = scorer.collate(chunk).to(runtime.device)
        read = read_out(scorer, batch, prompt.shape[0])
        recorded: list[torch.Tensor | None] = [None] * len(modules)

        def recorder(layer):
            def hook(module, args):
                recorded[layer] = read(args[0].float()).sum(0)

            return hook

        with forward_pre_hooks(modules, [recorder(i) for i in range(len(modules))]), runtime.autocast():
            scorer.logits(prompt, batch)
        sums = torch.stack(recorded).cpu()
        total = sums if total is None else total + sums
    return total / len(items)


def active(activations: torch.Tensor) -> torch.Tensor:
    """Binarised activations: a neuron is active where its value is above zero (the paper)."""
    return activations > 0


def top_neurons(activations: torch.Tensor, fraction: float) -> torch.Tensor:
    """Flat indices of the `fraction` most activated neurons, all layers pooled."""
    count = round(fraction * activations.numel())
    return torch.topk(activations.flatten(), count).indices


def random_neurons(activations: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randperm(activations.numel(), generator=generator)[:count]


def keep_mask(shape: torch.Size, masked: torch.Tensor) -> torch.Tensor:
    """[layers, intermediate] of ones with zeros at the flat indices `masked`."""
    keep = torch.ones(shape).flatten()
    keep[masked] = 0.0
    return keep.reshape(shape)


@contextlib.contextmanager
def masked_neurons(model: nn.Module, keep: torch.Tensor):
    """Zero the neurons where `keep` is 0, at every position, in every forward inside the block."""
    modules = [module for _, module in ffn_modules(model)]
    if keep.shape[0] != len(modules):
        raise ValueError(f"mask for {keep.shape[0]} layers, model has {len(modules)}")

    def zeroing(layer):
        def hook(module, args):
            return (args[0] * keep[layer].to(args[0].device, args[0].dtype), *args[1:])

        return hook

    with forward_pre_hooks(modules, [zeroing(i) for i in range(len(modules))]):
        yield


def _open(job: NeuronsJob | MaskingJob, manifest, prompt_path, threads):
    """(runtime, session, scorer, prompt) of a neurons job."""
    from .prompts import load_prompt
    from .runtime import setup_runtime
    from .session import Session

    runtime = setup_runtime(threads, job.evaluation.precision)
    session = Session()
    scorer = session.scorer(manifest, job.backbone, job.task, job.evaluation.max_length, runtime)
    prompt, _ = load_prompt(prompt_path, scorer.hidden_size)
    return runtime, session, scorer, prompt


def run_extract_job(job: NeuronsJob, manifest, prompt_path, data_dir, out, threads=None) -> torch.Tensor:
    """The extract_neurons rule: the task prompt's activations, saved as `activations` [layers, I]
    (job.inputs 0: the paper's stimulus; N: the mean over the first N training inputs)."""
    from .data import read_split
    from .io import save_tensors

    runtime, _, scorer, prompt = _open(job, manifest, prompt_path, threads)
    if job.inputs:
        items = scorer.encode(read_split(data_dir, "train")[: job.inputs])
        described = f"mean over the first {len(items)} training inputs"
    else:
        items = [stimulus(scorer)]
        described = "prompt + one special token"
    activations = prompt_activations(scorer, prompt, items, job.evaluation.batch_size, runtime)
    log.info(
        "%s: %d layers x %d neurons, %.1f%% active",
        job.task.name,
        *activations.shape,
        100 * active(activations).float().mean(),
    )
    metadata = {
        "backbone": job.backbone.name,
        "task": job.task.name,
        "family": scorer.family,
        "stimulus": described,
        "modules": [name for name, _ in ffn_modules(scorer.model)],
    }
    save_tensors(out, {"activations": activations}, metadata)
    return activations


def run_masking_job(
    job: MaskingJob, manifest, prompt_path, neurons_path, own_path, data_dir, out, threads=None
) -> dict:
    """The mask_neurons rule: the task's own prompt on its validation split with its most
    activated neurons zeroed, and with as many random neurons zeroed (the control). The
    unmasked accuracy is the zero-shot diagonal (`own_path`), measured with the same settings."""
    from .evaluation import accuracy
    from .io import load_tensors, read_json, write_json

    runtime, session, scorer, prompt = _open(job, manifest, prompt_path, threads)
    activations = load_tensors(neurons_path)[0]["activations"]
    items = session.split(scorer, data_dir, "validation")

    def masked_accuracy(indices):
        with masked_neurons(scorer.model, keep_mask(activations.shape, indices)):
            return accuracy(scorer, prompt, items, job.evaluation.batch_size, runtime)

    top = top_neurons(activations, job.fraction)
    generator = torch.Generator().manual_seed(job.seed)
    random_scores = [masked_accuracy(random_neurons(activations, len(top), generator)) for _ in range(job.random_draws)]
    result = {
        "backbone": job.backbone.name,
        "task": job.task.name,
        "fraction": job.fraction,
        "masked_neurons": len(top),
        "total_neurons": activations.numel(),
        "unmasked": read_json(own_path)["accuracy"],
        "top_masked": masked_accuracy(top),
        "random_masked": sum(random_scores) / len(random_scores),
        "random_masked_draws": random_scores,
        "seed": job.seed,
        "examples": len(items),
        "runtime": runtime.describe(),
    }
    write_json(out, result)
    return result


MASKING_COLUMNS = [
    "backbone",
    "task",
    "fraction",
    "masked_neurons",
    "total_neurons",
    "unmasked",
    "top_masked",
    "random_masked",
    "examples",
]


def masking_table(files):
    """One row per task and training seed; drops are in accuracy points (unmasked minus masked)."""
    import pandas as pd

    from .io import read_json
    from .layout import seed_of

    frame = pd.DataFrame([read_json(f) for f in files])[MASKING_COLUMNS]
    frame.insert(1, "seed", [seed_of(f) for f in files])
    frame["top_drop"] = frame.unmasked - frame.top_masked
    frame["random_drop"] = frame.unmasked - frame.random_masked
    return frame


def run_masking_table_job(files, out) -> None:
    """The masking_table rule: every task's masking result of a backbone in one CSV."""
    from .io import write_csv

    write_csv(out, masking_table(files))
