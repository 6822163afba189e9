"""Helpers of rules/projector.smk: the projector section of the config, each job's settings
and the files a pair's table gathers."""

from prompt_transfer import cross_model

try:
    cross_model.check(CONFIG)
except ConfigError as error:
    sys.exit(f"error: {error}")

PROJECTOR = CONFIG["projector"]
TASK_SETS = PROJECTOR["task_sets"]
CROSS_MODEL_TASKS = cross_model.eval_tasks(CONFIG)
PROJECTOR_PAIRS = [f"{p['source']}__{p['target']}" for p in PROJECTOR["pairs"]]


def projector_job(wc, objective):
    """What a projector depends on: the pair, its task set and the projector settings of
    its objective."""
    keys = ["hidden_size", "learning_rate", "adam_eps", "weight_decay", "grad_clip"]
    keys += ["eval_interval", "seed"] + (["batch_size"] if objective == "task" else [])
    settings = {k: PROJECTOR[k] for k in keys}
    settings["max_steps"] = PROJECTOR["max_steps"][objective]
    return {
        "source": wc.source_model,
        "target": wc.target_model,
        "task_set": wc.taskset,
        "tasks": TASK_SETS[wc.taskset],
        "settings": settings,
    }


def task_projector_job(wc):
    """The task objective also depends on how the target backbone scores each task."""
    target = wc.target_model
    backbone_training = {
        **CONFIG["training"],
        **CONFIG["backbones"][target]["training"],
    }
    scoring = {
        t: {
            "task": scoring_job(target, t),
            "max_length": train_job(target, t)["max_length"],
        }
        for t in TASK_SETS[wc.taskset]
    }
    return {
        **projector_job(wc, "task"),
        "scoring": scoring,
        "precision": backbone_training["precision"],
        "eval_batch_size": CONFIG["evaluation"]["batch_size"],
    }


def task_set_prompts(role):
    """Input function: the prompts of the `role` backbone (wildcard source_model or
    target_model) for each task of the set."""
    return lambda wc: [
        f"results/prompts/{getattr(wc, role)}/{t}.safetensors"
        for t in TASK_SETS[wc.taskset]
    ]


def task_set_data(split):
    return lambda wc: [f"results/data/{t}/{split}.jsonl" for t in TASK_SETS[wc.taskset]]


def projected_scores(wc):
    """(objective/taskset, file) of every zero-shot score of a pair's projected prompts."""
    pair = f"{wc.source_model}__{wc.target_model}"
    return [
        (f"{o}/{s}", f"results/cross_model/{pair}/{o}__{s}/{t}.json")
        for o in PROJECTOR["objectives"]
        for s in TASK_SETS
        for t in CROSS_MODEL_TASKS
    ]
