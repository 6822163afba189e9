"""The prompt bank: per trained prompt one JSON file with its provenance, and an index of them.

An entry says what the prompt is (file, hash, shape, its PEFT adapter), what it was made from
(the backbone's source, the task's data sample and its hashes, every setting of the job specs,
the seed), how it did (dev and validation accuracy, the no-prompt and random-prompt baselines)
and what it took (steps, wall time, peak memory, hardware, package versions, code version), in
the spirit of the result files of PEFT's method-comparison suite.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .io import file_sha256, read_json, write_csv, write_json
from .peft_io import base_model_of
from .specs import BankJob

SPLITS = ("train", "dev", "validation")


def data_provenance(data_dir) -> dict:
    """The prepared sample of a task: source, sampling, sizes, and the hash of each split file
    (sample_sha256: one hash of the three, in the order train, dev, validation)."""
    meta = read_json(Path(data_dir) / "meta.json")
    hashes = {split: file_sha256(Path(data_dir) / f"{split}.jsonl") for split in SPLITS}
    return {
        "folder": str(data_dir),
        **{key: meta[key] for key in ("source", "sampling", "sizes", "label_counts")},
        "sha256": hashes,
        "sample_sha256": hashlib.sha256("".join(hashes[s] for s in SPLITS).encode()).hexdigest(),
    }


def job_cost(benchmark) -> dict:
    """Wall seconds and peak memory of the training job, from its Snakemake benchmark file."""
    from .benchmarks import read_benchmark

    row = read_benchmark(benchmark).iloc[-1]
    rss = row["max_rss_mb"]
    return {"job_wall_seconds": float(row["wall_seconds"]), "job_max_rss_mb": None if rss != rss else float(rss)}


def bank_entry(
    job: BankJob, manifest, prompt, metrics, train_log, adapter, validation, baseline, benchmark, data_dir, out
) -> dict:
    """The bank_entry rule: one prompt's provenance, from its job specs and the files of the
    jobs that made and scored it."""
    import torch

    from .prompts import load_prompt
    from .runtime import environment

    manifest_ = read_json(manifest)
    trained = read_json(metrics)
    own, no_prompt = read_json(validation), read_json(baseline)
    tensor, _ = load_prompt(prompt)
    train = job.train
    recorded = trained.get("environment")
    entry = {
        "backbone": train.backbone.name,
        "task": train.task.name,
        "prompt": {
            "file": str(prompt),
            "sha256": file_sha256(prompt),
            "shape": list(tensor.shape),
            "seed": train.training.seed,
            "peft_adapter": str(adapter),
        },
        "backbone_source": {
            "source": manifest_["source"],
            "base_model": base_model_of(manifest),
            "scorer": train.backbone.scorer,
            "dtype": train.backbone.dtype,
            "licence": manifest_.get("licence"),
            # hub backbones: the revision asked for and the commit downloaded
            **{key: manifest_[key] for key in ("revision", "commit") if key in manifest_},
        },
        "data": data_provenance(data_dir),
        "settings": job.to_dict(),
        "metrics": {
            "dev": {
                "accuracy": trained["best_dev_accuracy"],
                "initial_accuracy": trained["initial_dev_accuracy"],
                "best_step": trained["best_step"],
                "examples": trained["dev_examples"],
            },
            "validation": {
                "accuracy": own["accuracy"],
                "examples": own["examples"],
                "no_prompt_accuracy": no_prompt["no_prompt"],
                "random_prompt_accuracy": no_prompt["random_mean"],
            },
        },
        "run": {
            "steps_run": trained["steps_run"],
            "stopped_early": trained["stopped_early"],
            "resumed_from_step": trained["resumed_from_step"],
            "train_seconds": trained["train_seconds"],
            **job_cost(benchmark),
            "init": trained["init"],
            "training_log": str(train_log),
        },
        "environment": {
            # Prompts trained before the metrics recorded their environment get this machine's.
            **(recorded or environment(torch.device("cpu"))),
            "recorded_when": "training" if recorded else "bank entry (not recorded at training)",
            "runtime": trained["runtime"],
        },
    }
    write_json(out, entry)
    return entry


INDEX_COLUMNS = [
    "backbone", "task", "seed", "prompt_length", "dev_accuracy", "validation_accuracy", "no_prompt_accuracy",
    "steps_run", "best_step", "job_wall_seconds", "device", "precision", "hardware", "code_version",
    "data_commit", "backbone_commit", "entry", "peft_adapter",
]  # fmt: skip


def index_row(path) -> dict:
    entry = read_json(path)
    hardware = entry["environment"]["hardware"]
    return {
        "backbone": entry["backbone"],
        "task": entry["task"],
        "seed": entry["prompt"]["seed"],
        "prompt_length": entry["prompt"]["shape"][0],
        "dev_accuracy": entry["metrics"]["dev"]["accuracy"],
        "validation_accuracy": entry["metrics"]["validation"]["accuracy"],
        "no_prompt_accuracy": entry["metrics"]["validation"]["no_prompt_accuracy"],
        "steps_run": entry["run"]["steps_run"],
        "best_step": entry["metrics"]["dev"]["best_step"],
        "job_wall_seconds": entry["run"]["job_wall_seconds"],
        "device": entry["environment"]["runtime"]["device"],
        "precision": entry["environment"]["runtime"]["precision"],
        "hardware": hardware["gpu"] or hardware["cpu"],
        "code_version": entry["environment"]["code_version"],
        # The hub commits the prompt was computed on (empty for local data and non-hub backbones).
        "data_commit": entry["data"]["source"].get("commit"),
        "backbone_commit": entry["backbone_source"].get("commit"),
        "entry": str(path),
        "peft_adapter": entry["prompt"]["peft_adapter"],
    }


def bank_index(entries, out) -> None:
    """The prompt_bank rule: one row per bank entry."""
    import pandas as pd

    write_csv(out, pd.DataFrame([index_row(p) for p in entries], columns=INDEX_COLUMNS))
