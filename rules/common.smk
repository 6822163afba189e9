"""Helpers of every rule: the typed config (CONFIG, a prompt_transfer.study.Study), the study's
lists, each job's spec, wildcard constraints, and the pieces every compute rule shares.

Each job gets its spec (src/prompt_transfer/specs.py) as one JSON parameter, `params.job`, so
Snakemake's params re-run trigger re-runs exactly the jobs whose spec changed. Result paths
come from src/prompt_transfer/layout.py, which the package reads too.
"""

import inspect
import json
import os
import re
import sys
from types import SimpleNamespace

from prompt_transfer import (
    cross_model,
    hub_access,
    layout,
    paper_comparison,
    prompt_sources,
    specs,
    tpt,
)
from prompt_transfer.code_version import code_version
from prompt_transfer.config import load_study
from prompt_transfer.errors import ConfigError
from snakemake.io import apply_wildcards
from snakemake.utils import format as shell_format

try:
    CONFIG = load_study(config)
    TPT_STATIC = {b: tpt.static_pairs(CONFIG, b) for b in CONFIG.backbones}
except ConfigError as error:
    sys.exit(f"error: {error}")

TASKS = CONFIG.tasks
BACKBONES = CONFIG.backbones
# Backbones whose task prompts come from a prompt source (config backbones.<b>.prompts), and
# the rest, whose prompts are trained: rules import_prompt and train_prompt, one each.
IMPORTED = prompt_sources.imported_backbones(CONFIG)
TRAINED = prompt_sources.trained_backbones(CONFIG)
# Training seeds (config study.seeds): a trained prompt and everything made from it exist once
# per seed; an imported backbone has one prompt per task, at the first seed.
SEEDS = CONFIG.seeds


def seeds_of(backbone):
    return prompt_sources.seeds(CONFIG, backbone)


def pair_seeds(source_model, target_model):
    """Seeds of a cross-model pair: those both backbones have."""
    return [s for s in seeds_of(source_model) if s in seeds_of(target_model)]


# Study backbones compared with a published table (config backbones.<b>.reference).
COMPARED = [b for b in BACKBONES if CONFIG.backbone(b).reference]
STUDY_TASKS = specs.study_tasks(CONFIG)
# Tasks whose prompts make the model write text; their results keep the first texts.
GENERATION_TASKS = [t for t in TASKS if CONFIG.task(t).generates]
CONDA_ENV = "../envs/workflow.yaml"
# A resource of the training rules, not a param: it changes when states are saved, not what is
# computed, so changing it must re-run nothing.
CHECKPOINT_INTERVAL = CONFIG.checkpoint_interval
PROJECTOR = CONFIG.projector
TASK_SETS = PROJECTOR["task_sets"]
CROSS_MODEL_TASKS = cross_model.eval_tasks(CONFIG)
PROJECTOR_PAIRS = [f"{p['source']}__{p['target']}" for p in PROJECTOR["pairs"]]
# What target `download` fetches: the data of every task and every backbone the study reads.
PROJECTOR_TASKS = (
    [t for tasks in TASK_SETS.values() for t in tasks] if PROJECTOR["pairs"] else []
)
DOWNLOAD_TASKS = sorted(
    set(TASKS)
    | set(CROSS_MODEL_TASKS if PROJECTOR["pairs"] else [])
    | set(PROJECTOR_TASKS)
)
DOWNLOAD_BACKBONES = sorted(
    set(BACKBONES) | {b for p in PROJECTOR["pairs"] for b in p.values()}
)
# The rules that may download (prepare_data, materialize_backbone, import_prompt) run where
# Snakemake runs, since many clusters' compute nodes cannot reach the internet; config
# downloads_on_nodes sends them to the nodes instead.
DOWNLOADS_LOCAL = not CONFIG.downloads_on_nodes


onstart:
    # Before any job, once: can the planned jobs that download reach the HF hub?
    try:
        hub_access.check(
            CONFIG,
            [
                (job.rule.name, dict(job.wildcards_dict))
                for job in workflow.dag.needrun_jobs()
            ],
        )
    except ConfigError as error:
        sys.exit(f"error: {error}")


def alternation(names):
    """A regex matching exactly one of `names` (task names may contain '_')."""
    return "|".join(sorted(map(re.escape, map(str, names)), key=len, reverse=True))


wildcard_constraints:
    task=alternation(CONFIG.all_tasks),
    source=alternation(CONFIG.all_tasks),
    target=alternation(CONFIG.all_tasks),
    backbone=alternation(CONFIG.all_backbones),
    source_model=alternation(CONFIG.all_backbones),
    target_model=alternation(CONFIG.all_backbones),
    objective=alternation(cross_model.OBJECTIVES),
    taskset=alternation(TASK_SETS),
    seed=r"\d+",


# --- what every rule repeats ------------------------------------------------------------------


def job_spec(build, *wildcards):
    """params.job: the JSON spec build(CONFIG, *values of `wildcards`) of each job."""
    return lambda wc: build(
        CONFIG, *(getattr(wc, name) for name in wildcards)
    ).to_json()


def code_of(script):
    """params.code: the version of the script's code and of the package modules it runs
    (src/prompt_transfer/code_version.py), so a job re-runs when, and only when, they change.
    """
    return code_version(os.path.join(SCRIPTS, f"{script}.py"))


def log_of(rule, job=""):
    return layout.job_path(layout.LOG, rule, job)


def benchmark_of(rule, job=""):
    return layout.job_path(layout.BENCHMARK, rule, job)


def compute(kind, runtime, gpu=True, **extra):
    """resources of a compute rule: config resources.<kind> (train, evaluate, projector)."""
    settings = CONFIG.resources[kind]
    return {
        "mem_mb": settings["mem_mb"],
        "runtime": runtime,
        **({"gpu": settings["gpu"]} if gpu else {}),
        **extra,
    }


def threads_of(kind):
    return CONFIG.resources[kind]["threads"]


LIGHT = {"mem_mb": 1000, "runtime": 10}  # aggregation and figures

# The one shell line of every rule: its script with the arguments the rule's params give.
SCRIPT_COMMAND = (
    'python "$PROMPT_TRANSFER_SCRIPTS/{params.script}.py" {params.arguments}'
    " --threads {threads} --log-file {log}"
)


def script_params(script, arguments, **values):
    """params of a rule that runs workflow_scripts/<script>.py -- `script`, its code version
    (code_of), the template `arguments`, the rule's `values` (params.job and any other value
    whose change re-runs its jobs), and params.arguments: the template filled in as Snakemake
    fills a shell line (lists joined by spaces, `:q` quoted) from the job's input, output,
    wildcards, resources and `values` as params.

    A params function cannot read the other params, so it computes `values` again. Since it
    reads the input and output, Snakemake's params re-run trigger leaves it out: `values`,
    the template, the input and the output are compared already, and a resource (the
    checkpoint interval) must re-run nothing.
    """

    def filled(wildcards, input, output, resources):
        params = {name: param_value(v, wildcards, input) for name, v in values.items()}
        return shell_format(
            arguments,
            wildcards=wildcards,
            input=input,
            output=output,
            resources=resources,
            params=SimpleNamespace(**params),
        )

    return {
        "script": script,
        "code": code_of(script),
        # The shell line is the same in every rule, so Snakemake's code trigger does not see a
        # changed template; the params trigger does. A function: Snakemake fills no wildcards
        # in what a function gives.
        "template": lambda wildcards: arguments,
        **values,
        "arguments": filled,
    }


def param_value(value, wildcards, input):
    """A param as Snakemake computes it: a function of the wildcards (and of the input if it
    asks for it), or a value whose {wildcards} are filled."""
    if callable(value):
        takes_input = "input" in inspect.signature(value).parameters
        return value(wildcards, **({"input": input} if takes_input else {}))
    return apply_wildcards(value, wildcards) if isinstance(value, str) else value


def model(wildcard="backbone"):
    """Input function: the manifest of the backbone named by `wildcard`."""
    return lambda wc: layout.MODEL.format(
        models_dir=CONFIG.models_dir, backbone=getattr(wc, wildcard)
    )


def split(name, task="{task}"):
    return layout.SPLIT.format(task=task, split=name)


def data_dir(wildcard):
    """params.data_dir: the prepared data folder of the task named by `wildcard`."""
    return lambda wc: layout.DATA_DIR.format(task=getattr(wc, wildcard))


def named_paths(names, paths):
    """name=path arguments of the scripts."""
    return " ".join(f"{name}={path}" for name, path in zip(names, paths))


def tiny_corpus(backbone):
    """Text files a tiny backbone's tokenizer learns its words from (under data_dir)."""
    corpus = CONFIG.backbone(backbone).source.get("tiny", {}).get("corpus", [])
    return [os.path.join(CONFIG.data_dir or "", path) for path in corpus]


# --- transferable prompt tuning (rules/tpt.smk) --------------------------------------------

# The {init} wildcard: a task name, or a projected prompt's source@from.objective.taskset.
TPT_INITS = {p.init for pairs in TPT_STATIC.values() for p in pairs} | set(TASKS)
TPT_INIT_PATTERN = "|".join(map(re.escape, sorted(TPT_INITS, key=len, reverse=True)))


def tpt_static(backbone):
    """The pairs of `backbone` known before any job runs (a backbone outside the study
    gets its own when one of its files is asked for)."""
    if backbone not in TPT_STATIC:
        TPT_STATIC[backbone] = tpt.static_pairs(CONFIG, backbone)
    return TPT_STATIC[backbone]


def tpt_pairs(backbone):
    """Every pair of `backbone`: the static ones, plus top_k's once the matrix exists."""
    pairs = set(tpt_static(backbone))
    if tpt.needs_matrix(CONFIG.tpt):
        import pandas as pd

        chosen = pd.read_csv(checkpoints.tpt_top_k.get(backbone=backbone).output[0])
        pairs |= {tpt.Pair(s, t) for s, t in zip(chosen.source, chosen.target)}
    return sorted(pairs)


def tpt_init(wc):
    """The prompt file a run named `init` of seed `seed` starts from: the source prompt of the
    same seed (an imported prompt has only its one)."""
    for pair in tpt_static(wc.backbone):
        if pair.init == wc.init:
            seed = seeds_of(pair.prompts_of)[0] if pair.prompts_of else wc.seed
            return pair.init_path(wc.backbone, seed)
    return tpt.Pair(wc.init, wc.init).init_path(
        wc.backbone, wc.seed
    )  # a task's own prompt (e.g. top_k)


def tpt_summary_inputs(wc):
    pairs = tpt_pairs(wc.backbone)
    seeds = seeds_of(wc.backbone)
    # the random-init curves are the ordinary training logs: inputs, never trained again
    targets = sorted({p.target for p in pairs})
    inputs = {
        "logs": [p.log_path(wc.backbone, s) for p in pairs for s in seeds],
        "random": expand(
            layout.TRAIN_LOG, backbone=wc.backbone, seed=seeds, task=targets
        ),
    }
    if tpt.needs_matrix(CONFIG.tpt):
        inputs["top_k"] = layout.TPT_TOP_K.format(backbone=wc.backbone)
    return inputs


# --- cross-model transfer (rules/projector.smk) -------------------------------------------


def task_set_prompts(role):
    """Input function: the prompts of the `role` backbone (wildcard source_model or
    target_model) for each task of the set."""
    return lambda wc: [
        layout.PROMPT.format(backbone=getattr(wc, role), seed=wc.seed, task=t)
        for t in TASK_SETS[wc.taskset]
    ]


def task_set_data(split_name):
    return lambda wc: [split(split_name, t) for t in TASK_SETS[wc.taskset]]


def projected_scores(wc):
    """(objective/taskset, file) of every zero-shot score of a pair's projected prompts, every
    seed."""
    return [
        (
            f"{o}/{s}",
            layout.CROSS_MODEL_SCORE.format(
                source_model=wc.source_model,
                target_model=wc.target_model,
                seed=seed,
                objective=o,
                taskset=s,
                task=t,
            ),
        )
        for seed in pair_seeds(wc.source_model, wc.target_model)
        for o in PROJECTOR["objectives"]
        for s in TASK_SETS
        for t in CROSS_MODEL_TASKS
    ]


# --- neurons and indicators (rules/neurons.smk, rules/indicators.smk) -------------------------


def speedup_table(backbone):
    """The TPT speed-up table, when config indicators.speedup asks for it."""
    if CONFIG.indicators["speedup"]:
        return [layout.TPT_SPEEDUP.format(backbone=backbone)]
    return []


def only(names):
    """A wildcard constraint matching exactly `names`, or nothing when there are none."""
    return alternation(names) or "(?!)"


# --- prompts from a prompt source (rules/train.smk), the published table (rules/transfer.smk) --


def imported_prompt_files(wc):
    source = prompt_sources.backbone_source(CONFIG, wc.backbone)
    return prompt_sources.input_files(source, wc.task)


def external_prompt_arguments(wc):
    """params.prompts of an external prompt set: name=location of each prompt."""
    locations = prompt_sources.set_locations(CONFIG, wc.prompt_set)
    return named_paths(locations, locations.values())
