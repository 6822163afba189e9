"""Helpers of rules/tpt.smk: the TPT pairs of each backbone and the inputs they need."""

import re

from prompt_transfer import tpt

try:
    tpt.check(CONFIG)
    TPT_STATIC = {b: tpt.static_pairs(CONFIG, b, train_job) for b in BACKBONES}
except ConfigError as error:
    sys.exit(f"error: {error}")

# The {init} wildcard: a task name, or a projected prompt's source@from.objective.taskset.
TPT_INITS = {p.init for pairs in TPT_STATIC.values() for p in pairs} | set(TASKS)
TPT_INIT_PATTERN = "|".join(map(re.escape, sorted(TPT_INITS, key=len, reverse=True)))


def tpt_static(backbone):
    """The pairs of `backbone` known before any job runs (a backbone outside the study
    gets its own when one of its files is asked for)."""
    if backbone not in TPT_STATIC:
        TPT_STATIC[backbone] = tpt.static_pairs(CONFIG, backbone, train_job)
    return TPT_STATIC[backbone]


def tpt_pairs(backbone):
    """Every pair of `backbone`: the static ones, plus top_k's once the matrix exists."""
    pairs = set(tpt_static(backbone))
    if tpt.needs_matrix(CONFIG["tpt"]):
        import pandas as pd

        chosen = pd.read_csv(checkpoints.tpt_top_k.get(backbone=backbone).output[0])
        pairs |= {tpt.Pair(s, t) for s, t in zip(chosen.source, chosen.target)}
    return sorted(pairs)


def tpt_init(backbone, init):
    """The prompt file a run named `init` starts from."""
    for pair in tpt_static(backbone):
        if pair.init == init:
            return pair.init_path(backbone)
    return tpt.Pair(init, init).init_path(backbone)  # a task's own prompt (e.g. top_k)


def tpt_summary_inputs(wc):
    pairs = tpt_pairs(wc.backbone)
    # the random-init curves are the ordinary training logs: inputs, never trained again
    targets = sorted({p.target for p in pairs})
    inputs = {
        "logs": [p.log_path(wc.backbone) for p in pairs],
        "random": [f"results/prompts/{wc.backbone}/{t}.log.csv" for t in targets],
    }
    if tpt.needs_matrix(CONFIG["tpt"]):
        inputs["top_k"] = f"results/tpt/{wc.backbone}/top_k.csv"
    return inputs
