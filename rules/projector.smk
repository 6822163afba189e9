"""Cross-model transfer: projectors map a source backbone's prompts into a target backbone's
prompt space, and the projected prompts are scored zero-shot on the target.

    snakemake --cores 2 results/cross_model.pdf --config data_dir=../shared/data

One projector per (pair, objective, task set) of config `projector`
(src/prompt_transfer/projector.py). Projected prompts are prompt files of the target backbone:
results/projectors/{source}__{target}/projected/{objective}__{taskset}/{task}.safetensors, which
the TPT rule also takes as initial prompts.
"""


include: "projector_common.smk"


wildcard_constraints:
    source_model=alternation(CONFIG["backbones"]),
    target_model=alternation(CONFIG["backbones"]),
    objective=alternation(cross_model.OBJECTIVES),
    taskset=alternation(TASK_SETS),


rule train_projector_distance:
    """A projector fitted to the target backbone's own prompts of a task set (MSE)."""
    input:
        sources=task_set_prompts("source_model"),
        targets=task_set_prompts("target_model"),
    output:
        projector="results/projectors/{source_model}__{target_model}/distance__{taskset}.safetensors",
        log="results/projectors/{source_model}__{target_model}/distance__{taskset}.log.csv",
    log:
        "results/logs/train_projector_distance/{source_model}__{target_model}/{taskset}.log",
    benchmark:
        "results/benchmarks/train_projector_distance/{source_model}__{target_model}/{taskset}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: CONFIG["resources"]["projector"]["threads"]
    resources:
        mem_mb=CONFIG["resources"]["projector"]["mem_mb"],
        runtime=120,
    params:
        job=lambda wc: as_json(projector_job(wc, "distance")),
    shell:
        f"python {SCRIPTS}/train_projector_distance.py"
        " --job {params.job:q} --source-prompts {input.sources} --target-prompts {input.targets}"
        " --projector {output.projector} --train-log {output.log} --threads {threads} --log-file {log}"


rule train_projector_task:
    """A projector trained through the frozen target backbone on a task set's training loss."""
    input:
        model=lambda wc: model_manifest(wc.target_model),
        sources=task_set_prompts("source_model"),
        train=task_set_data("train"),
        dev=task_set_data("dev"),
    output:
        projector="results/projectors/{source_model}__{target_model}/task__{taskset}.safetensors",
        log="results/projectors/{source_model}__{target_model}/task__{taskset}.log.csv",
    log:
        "results/logs/train_projector_task/{source_model}__{target_model}/{taskset}.log",
    benchmark:
        "results/benchmarks/train_projector_task/{source_model}__{target_model}/{taskset}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: CONFIG["resources"]["projector"]["threads"]
    resources:
        mem_mb=CONFIG["resources"]["projector"]["mem_mb"],
        runtime=480,
        gpu=CONFIG["resources"]["projector"]["gpu"],
    params:
        backbone=lambda wc: as_json(backbone_job(wc.target_model)),
        job=lambda wc: as_json(task_projector_job(wc)),
        data_dirs=lambda wc: " ".join(
            f"results/data/{t}" for t in TASK_SETS[wc.taskset]
        ),
    shell:
        f"python {SCRIPTS}/train_projector_task.py"
        " --model {input.model} --backbone {params.backbone:q} --job {params.job:q}"
        " --source-prompts {input.sources} --data-dirs {params.data_dirs}"
        " --projector {output.projector} --train-log {output.log} --threads {threads} --log-file {log}"


rule project_prompt:
    """A source backbone's prompt of one task, mapped by a projector into the target's space."""
    input:
        projector="results/projectors/{source_model}__{target_model}/{objective}__{taskset}.safetensors",
        prompt="results/prompts/{source_model}/{task}.safetensors",
    output:
        "results/projectors/{source_model}__{target_model}/projected/{objective}__{taskset}/{task}.safetensors",
    log:
        "results/logs/project_prompt/{source_model}__{target_model}/{objective}__{taskset}/{task}.log",
    benchmark:
        "results/benchmarks/project_prompt/{source_model}__{target_model}/{objective}__{taskset}/{task}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        f"python {SCRIPTS}/project_prompt.py"
        " --projector {input.projector} --prompt {input.prompt} --out {output} --threads {threads} --log-file {log}"


rule evaluate_cross_model:
    """Zero-shot: a projected prompt of a task on that task of the target backbone."""
    input:
        model=lambda wc: model_manifest(wc.target_model),
        prompt="results/projectors/{source_model}__{target_model}/projected/{objective}__{taskset}/{task}.safetensors",
        validation="results/data/{task}/validation.jsonl",
    output:
        "results/cross_model/{source_model}__{target_model}/{objective}__{taskset}/{task}.json",
    log:
        "results/logs/evaluate_cross_model/{source_model}__{target_model}/{objective}__{taskset}/{task}.log",
    benchmark:
        "results/benchmarks/evaluate_cross_model/{source_model}__{target_model}/{objective}__{taskset}/{task}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: CONFIG["resources"]["evaluate"]["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate"]["mem_mb"],
        runtime=30,
        gpu=CONFIG["resources"]["evaluate"]["gpu"],
    params:
        backbone=lambda wc: as_json(backbone_job(wc.target_model)),
        task=lambda wc: as_json(scoring_job(wc.target_model, wc.task)),
        settings=lambda wc: as_json(eval_job(wc.target_model, wc.task)),
    shell:
        # the zero-shot script of rule evaluate_transfer: a projected prompt is a prompt file
        f"python {SCRIPTS}/evaluate_transfer.py"
        " --model {input.model} --backbone {params.backbone:q}"
        " --task {params.task:q} --settings {params.settings:q} --prompt {input.prompt}"
        " --data-dir results/data/{wildcards.task} --out {output} --threads {threads} --log-file {log}"


rule cross_model_table:
    """Projected prompts' accuracy per target task, with the target's own, random and no prompt."""
    input:
        projected=lambda wc: [path for _, path in projected_scores(wc)],
        own=lambda wc: [
            f"results/transfer/{wc.target_model}/{t}__{t}.json"
            for t in CROSS_MODEL_TASKS
        ],
        baselines=lambda wc: [
            f"results/transfer/{wc.target_model}/baselines/{t}.json"
            for t in CROSS_MODEL_TASKS
        ],
    output:
        report(
            "results/cross_model/{source_model}__{target_model}.csv",
            caption="../report/cross_model_table.rst",
            category="Cross-model transfer",
            labels={
                "pair": "{source_model} → {target_model}",
                "table": "accuracy table",
            },
        ),
    log:
        "results/logs/cross_model_table/{source_model}__{target_model}.log",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        projected=lambda wc: " ".join(f"{n}={p}" for n, p in projected_scores(wc)),
        tasks=as_json(CROSS_MODEL_TASKS),
    shell:
        f"python {SCRIPTS}/cross_model_table.py"
        " --projected {params.projected} --own {input.own} --baselines {input.baselines}"
        " --tasks {params.tasks:q} --out {output} --log-file {log}"


rule cross_model_figure:
    """One annotated heatmap per backbone pair: projected prompts and references per target task."""
    input:
        expand("results/cross_model/{pair}.csv", pair=PROJECTOR_PAIRS),
    output:
        report(
            "results/cross_model.pdf",
            caption="../report/cross_model.rst",
            category="Cross-model transfer",
            labels={"pair": "all", "table": "heatmaps"},
        ),
    log:
        "results/logs/cross_model_figure.log",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        tables=lambda wc, input: named_paths(PROJECTOR_PAIRS, input),
        task_types=as_json({t: CONFIG["tasks"][t]["type"] for t in CROSS_MODEL_TASKS}),
        task_sets=as_json(TASK_SETS),
    shell:
        f"python {SCRIPTS}/plot_cross_model.py"
        " --tables {params.tables} --task-types {params.task_types:q} --task-sets {params.task_sets:q}"
        " --out {output} --log-file {log}"
