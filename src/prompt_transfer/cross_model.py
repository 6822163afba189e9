"""The cross-model stage around the projectors (projector.py): which projectors and target
tasks the config asks for, checked before any job runs, and the table of zero-shot scores of
projected prompts next to the target backbone's references.

Free of torch, so the workflow reads it when it plans the jobs without loading torch.
"""

from __future__ import annotations


from .errors import ConfigError
from .families import GENERATIVE_FAMILIES
from .specs import training
from .study import Study

OBJECTIVES = ("distance", "task")


def eval_tasks(study: Study) -> list[str]:
    """Target tasks of the cross-model table: projector.eval_tasks, or the study's tasks (its
    generation tasks only when every projector backbone can generate)."""
    if study.projector["eval_tasks"]:
        return study.projector["eval_tasks"]
    backbones = study.all_backbones
    families = {backbones[b].scorer if b in backbones else None for p in study.projector["pairs"] for b in p.values()}
    writes = families <= set(GENERATIVE_FAMILIES)
    return [t for t in study.tasks if writes or not study.task(t).generates]


def check(study: Study) -> None:
    """Cross-check the projector section (raises ConfigError naming the key)."""
    section = study.projector
    tasks, backbones = study.all_tasks, study.all_backbones
    problems = []
    for name, members in section["task_sets"].items():
        problems += [f"projector.task_sets.{name}: unknown task {t!r}" for t in members if t not in tasks]
    problems += [f"projector.eval_tasks: unknown task {t!r}" for t in (section["eval_tasks"] or []) if t not in tasks]
    used = sorted({t for members in section["task_sets"].values() for t in members} | set(eval_tasks(study)))
    used = [t for t in used if t in tasks]
    for i, pair in enumerate(section["pairs"]):
        where = f"projector.pairs[{i}]"
        unknown = [
            f"{where}.{k}: unknown backbone {pair[k]!r} (known: {', '.join(sorted(backbones))})"
            for k in ("source", "target")
            if pair[k] not in backbones
        ]
        if unknown:
            problems += unknown
            continue
        if pair["source"] == pair["target"]:
            problems.append(f"{where}: source and target are both {pair['source']!r}")
        for key in ("source", "target"):
            family = backbones[pair[key]].scorer
            problems += [
                f"{where}.{key}: task {t!r} has no {family!r} label words"
                for t in used
                if family not in tasks[t].label_words and not tasks[t].generates
            ]
            problems += [
                f"{where}.{key}: task {t!r} is a generation task and {pair[key]!r} ({family}) cannot generate"
                for t in used
                if tasks[t].generates and family not in GENERATIVE_FAMILIES
            ]
        # The projector flattens every source prompt, so all must have one length; the
        # distance objective compares with the target's own prompts, so they must match too.
        lengths = {t: training(study, pair["source"], t).prompt_length for t in used}
        if len(set(lengths.values())) > 1:
            problems.append(
                f"{where}.source: prompt_length differs between tasks ({lengths}); a projector needs one length"
            )
        if "distance" in section["objectives"]:
            members = sorted({t for m in section["task_sets"].values() for t in m if t in tasks})
            for t in members:
                target_length = training(study, pair["target"], t).prompt_length
                if target_length != lengths[t]:
                    problems.append(
                        f"{where}: task {t!r} has prompt_length {lengths[t]} on {pair['source']!r} but {target_length} "
                        f"on {pair['target']!r}; the distance objective needs equal lengths"
                    )
    if study.data_dir is None:
        problems += [
            f"tasks.{t}: no hub source, and data_dir is not set (used by projector)"
            for t in used
            if tasks[t].hub is None
        ]
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


def cross_model_table(projected: dict[tuple[str, str], list], own_files, baseline_files, tasks: list[str]):
    """Zero-shot accuracy on the target backbone, one row per (objective, task set) of
    projected prompts, then the reference rows: the target's own prompts, random prompts and
    no prompt (transfer.BASELINE_ROWS). Columns: prompt, objective, task_set, then `tasks`.
    A prompt scored once per training seed (projected and own prompts) shows the mean over seeds."""
    import pandas as pd

    from .transfer import BASELINE_ROWS
    from .io import read_json

    def scores(files, key="accuracy"):
        by_target = {}
        for r in map(read_json, files):
            by_target.setdefault(r["target"], []).append(r[key])
        return {target: sum(values) / len(values) for target, values in by_target.items()}

    rows = [
        {
            "prompt": f"projected ({objective}, {task_set})",
            "objective": objective,
            "task_set": task_set,
            **scores(files),
        }
        for (objective, task_set), files in projected.items()
    ]
    rows.append({"prompt": "own prompt", **scores(own_files)})
    baselines = [read_json(f) for f in baseline_files]
    rows += [
        {"prompt": name, **{b["target"]: b[key] for b in baselines}}
        for key, name in BASELINE_ROWS.items()
        if all(key in b for b in baselines)  # the uniform baseline only where asked for
    ]
    return pd.DataFrame(rows, columns=["prompt", "objective", "task_set", *tasks])
