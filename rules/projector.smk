"""Cross-model transfer: projectors map a source backbone's prompts into a target backbone's
prompt space, and the projected prompts are scored zero-shot on the target.

    snakemake --cores 2 results/cross_model.pdf --config data_dir=tests/data/sample

One projector per (pair, objective, task set) of config `projector`
(src/prompt_transfer/projector.py). Projected prompts are prompt files of the target backbone
(layout.PROJECTED), which the TPT rule also takes as initial prompts.
"""


use rule script_job as train_projector_distance with:
    """A projector fitted to the target backbone's own prompts of a task set (MSE)."""
    input:
        sources=task_set_prompts("source_model"),
        targets=task_set_prompts("target_model"),
    output:
        projector=layout.PROJECTOR.replace("{objective}", "distance"),
        log=layout.PROJECTOR_LOG.replace("{objective}", "distance"),
    log:
        log_of(
            "train_projector_distance",
            "{source_model}__{target_model}/seed{seed}/{taskset}",
        ),
    benchmark:
        benchmark_of(
            "train_projector_distance",
            "{source_model}__{target_model}/seed{seed}/{taskset}",
        )
    threads: threads_of("projector")
    resources:
        **compute("projector", 120, gpu=False),
    params:
        **script_params(
            "train_projector_distance",
            (
                "--job {params.job:q} --source-prompts {input.sources} --target-prompts {input.targets}"
                " --projector {output.projector} --train-log {output.log}"
            ),
            job=job_spec(
                specs.projector_job, "source_model", "target_model", "taskset", "seed"
            ),
        ),


use rule script_job as train_projector_task with:
    """A projector trained through the frozen target backbone on a task set's training loss."""
    input:
        model=model("target_model"),
        sources=task_set_prompts("source_model"),
        train=task_set_data("train"),
        dev=task_set_data("dev"),
    output:
        projector=layout.PROJECTOR.replace("{objective}", "task"),
        log=layout.PROJECTOR_LOG.replace("{objective}", "task"),
    log:
        log_of(
            "train_projector_task",
            "{source_model}__{target_model}/seed{seed}/{taskset}",
        ),
    benchmark:
        benchmark_of(
            "train_projector_task",
            "{source_model}__{target_model}/seed{seed}/{taskset}",
        )
    threads: threads_of("projector")
    resources:
        **compute("projector", 480),
    params:
        **script_params(
            "train_projector_task",
            (
                "--job {params.job:q} --model {input.model}"
                " --source-prompts {input.sources} --data-dirs {params.data_dirs}"
                " --projector {output.projector} --train-log {output.log}"
            ),
            job=job_spec(
                specs.task_projector_job,
                "source_model",
                "target_model",
                "taskset",
                "seed",
            ),
            data_dirs=lambda wc: " ".join(
                layout.DATA_DIR.format(task=t) for t in TASK_SETS[wc.taskset]
            ),
        ),


use rule script_job as project_prompt with:
    """A source backbone's prompt of one task, mapped by a projector into the target's space."""
    input:
        projector=layout.PROJECTOR,
        prompt=layout.PROMPT.format(
            backbone="{source_model}", seed="{seed}", task="{task}"
        ),
    output:
        layout.PROJECTED,
    log:
        log_of(
            "project_prompt",
            "{source_model}__{target_model}/seed{seed}/{objective}__{taskset}/{task}",
        ),
    benchmark:
        benchmark_of(
            "project_prompt",
            "{source_model}__{target_model}/seed{seed}/{objective}__{taskset}/{task}",
        )
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **script_params(
            "project_prompt",
            "--projector {input.projector} --prompt {input.prompt} --out {output}",
        ),


# Zero-shot: a projected prompt of a task on that task of the target backbone.
use rule evaluate_transfer as evaluate_cross_model with:
    input:
        model=model("target_model"),
        prompt=layout.PROJECTED,
        validation=split("validation"),
    output:
        layout.CROSS_MODEL_SCORE,
    log:
        log_of(
            "evaluate_cross_model",
            "{source_model}__{target_model}/seed{seed}/{objective}__{taskset}/{task}",
        ),
    benchmark:
        benchmark_of(
            "evaluate_cross_model",
            "{source_model}__{target_model}/seed{seed}/{objective}__{taskset}/{task}",
        )
    group:
        "evaluate_{target_model}_{task}"
    params:
        **script_params(
            "evaluate_transfer",
            EVALUATE_TRANSFER_ARGUMENTS,
            job=job_spec(specs.transfer_job, "target_model", "task"),
            data_dir=data_dir("task"),
        ),


use rule script_job as cross_model_table with:
    """Projected prompts' accuracy per target task, with the target's own, random and no prompt."""
    input:
        projected=lambda wc: [path for _, path in projected_scores(wc)],
        own=lambda wc: [
            layout.TRANSFER.format(
                backbone=wc.target_model, seed=s, source=t, target=t
            )
            for s in pair_seeds(wc.source_model, wc.target_model)
            for t in CROSS_MODEL_TASKS
        ],
        baselines=lambda wc: [
            layout.BASELINES.format(backbone=wc.target_model, target=t)
            for t in CROSS_MODEL_TASKS
        ],
    output:
        report(
            layout.CROSS_MODEL_TABLE,
            caption="../report/cross_model_table.rst",
            category="Cross-model transfer",
            labels={
                "pair": "{source_model} → {target_model}",
                "table": "accuracy table",
            },
        ),
    log:
        log_of("cross_model_table", "{source_model}__{target_model}"),
    params:
        **script_params(
            "cross_model_table",
            (
                "--projected {params.projected} --own {input.own} --baselines {input.baselines}"
                " --tasks {params.tasks:q} --out {output}"
            ),
            projected=lambda wc: " ".join(f"{n}={p}" for n, p in projected_scores(wc)),
            tasks=json.dumps(CROSS_MODEL_TASKS),
        ),


use rule script_job as cross_model_figure with:
    """One annotated heatmap per backbone pair: projected prompts and references per target task."""
    input:
        [
            layout.CROSS_MODEL_TABLE.replace("{source_model}__{target_model}", pair)
            for pair in PROJECTOR_PAIRS
        ],
    output:
        report(
            layout.CROSS_MODEL_FIGURE,
            caption="../report/cross_model.rst",
            category="Cross-model transfer",
            labels={"pair": "all", "table": "heatmaps"},
        ),
    log:
        log_of("cross_model_figure"),
    params:
        **script_params(
            "cross_model_figure",
            (
                "--job {params.job:q} --tables {params.tables} --task-sets {params.task_sets:q}"
                " --out {output}"
            ),
            job=specs.study_tasks(CONFIG, CROSS_MODEL_TASKS).to_json(),
            tables=lambda wc, input: named_paths(PROJECTOR_PAIRS, input),
            task_sets=json.dumps(TASK_SETS),
        ),
