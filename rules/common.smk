"""Shared helpers: validated config, study lists, per-job parameters, wildcard constraints.

Each job receives only the settings it depends on (as a JSON parameter), so Snakemake's
params rerun-trigger re-runs exactly the jobs whose settings changed.
"""

import json
import os
import sys

from prompt_transfer.config import (
    ConfigError,
    backbone_spec,
    data_settings,
    load_config,
    task_spec,
    training_settings,
)

try:
    CONFIG = load_config(config)
except ConfigError as error:
    sys.exit(f"error: {error}")

TASKS = CONFIG["study"]["tasks"]
BACKBONES = CONFIG["study"]["backbones"]
TASK_TYPES = {t: CONFIG["tasks"][t]["type"] for t in TASKS}
MODELS_DIR = CONFIG["models_dir"]
SCRIPTS = os.path.join(workflow.basedir, "workflow_scripts")
# A resource of the training rules, not a param: it changes when states are saved, not what is
# computed, so changing it must re-run nothing.
CHECKPOINT_INTERVAL = CONFIG["checkpoint_interval"]


def alternation(names):
    """A regex matching exactly one of `names` (task names may contain '_')."""
    return "|".join(sorted(map(str, names), key=len, reverse=True))


wildcard_constraints:
    task=alternation(CONFIG["tasks"]),
    source=alternation(CONFIG["tasks"]),
    target=alternation(CONFIG["tasks"]),
    backbone=alternation(CONFIG["backbones"]),


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


def family(backbone):
    return CONFIG["backbones"][backbone]["scorer"]


def model_manifest(backbone):
    return f"{MODELS_DIR}/{backbone}/model.json"


def data_job(task):
    """What the data of `task` depends on: its source, labels, sampling and data_dir."""
    entry = CONFIG["tasks"][task]
    return {
        "data_dir": CONFIG["data_dir"],
        "sampling": data_settings(CONFIG, task),
        "task": {k: entry.get(k) for k in ("type", "labels", "hub", "local")},
    }


def scoring_job(backbone, task):
    return task_spec(CONFIG, task, family(backbone))


def train_job(backbone, task):
    return training_settings(CONFIG, backbone, task)


def eval_job(backbone, target):
    """What scoring a target task depends on: its text budget, precision, evaluation batch."""
    settings = training_settings(CONFIG, backbone, target)
    return {
        "max_length": settings["max_length"],
        "precision": settings["precision"],
        "batch_size": CONFIG["evaluation"]["batch_size"],
    }


def baseline_job(backbone, target):
    settings = training_settings(CONFIG, backbone, target)
    return {
        **eval_job(backbone, target),
        **{k: settings[k] for k in ("prompt_length", "prompt_init", "init_std")},
        "random_prompts": CONFIG["evaluation"]["random_prompts"],
        "seed": CONFIG["evaluation"]["seed"],
    }


def tiny_corpus(backbone):
    """Text files a tiny backbone's tokenizer learns its words from (relative to data_dir)."""
    tiny = CONFIG["backbones"][backbone]["source"].get("tiny")
    if not tiny:
        return []
    return [os.path.join(CONFIG["data_dir"] or "", path) for path in tiny["corpus"]]


def backbone_job(backbone):
    spec = backbone_spec(CONFIG, backbone)
    if "tiny" in spec["source"]:
        spec["source"] = {
            "tiny": {**spec["source"]["tiny"], "corpus": tiny_corpus(backbone)}
        }
    return spec


# --- neurons and indicators (rules/neurons.smk, rules/indicators.smk) -------------------------


def neurons_job(backbone, task):
    """What a prompt's activations depend on: how the task is scored and the stimulus."""
    return {**eval_job(backbone, task), "inputs": CONFIG["neurons"]["inputs"]}


def masking_job(backbone, task):
    return {**eval_job(backbone, task), **CONFIG["neurons"]["masking"]}


def named_paths(names, paths):
    """name=path arguments of the indicator scripts."""
    return " ".join(f"{name}={path}" for name, path in zip(names, paths))


def correlation_job():
    return {k: CONFIG["indicators"][k] for k in ("bootstrap", "seed", "reference")}


def speedup_table(backbone):
    """The TPT speed-up table, when config indicators.speedup asks for it."""
    if CONFIG["indicators"]["speedup"]:
        return [f"results/tpt/{backbone}/speedup.csv"]
    return []


def external_prompts(prompt_set):
    return CONFIG["indicators"]["external_prompts"][prompt_set]["prompts"]


def external_types(prompt_set):
    """Each external prompt's task type: its own, else that of the registry task of its name."""
    return {
        name: entry["type"] or CONFIG["tasks"].get(name, {}).get("type")
        for name, entry in external_prompts(prompt_set).items()
    }


def external_job(prompt_set):
    entry = CONFIG["indicators"]["external_prompts"][prompt_set]
    return {
        "layer_group_size": CONFIG["indicators"]["layer_group_size"],
        "hidden_size": entry["hidden_size"],
        "skip_rows": entry["skip_rows"],
    }
