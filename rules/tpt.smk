"""Transferable prompt tuning (initialisation transfer): the target task's prompt trained from a
source prompt, compared with the target's ordinary (random-init) run.

    snakemake --cores 2 results/tpt_curves.pdf --config data_dir=../shared/data

Pairs come from config `tpt.pairs` (src/prompt_transfer/tpt.py). Every mode except top_k is
known when the DAG is built; top_k reads the zero-shot matrix through the checkpoint tpt_top_k.
"""


include: "tpt_common.smk"


rule tpt_train:
    """Prompt tuning of the target task from a source prompt, with the target's own settings."""
    input:
        model=lambda wc: model_manifest(wc.backbone),
        train="results/data/{target}/train.jsonl",
        dev="results/data/{target}/dev.jsonl",
        init=lambda wc: tpt_init(wc.backbone, wc.init),
    output:
        log="results/tpt/{backbone}/{init}__{target}.csv",
        prompt="results/tpt/{backbone}/{init}__{target}.safetensors",
        metrics="results/tpt/{backbone}/{init}__{target}.metrics.json",
    log:
        "results/logs/tpt_train/{backbone}/{init}__{target}.log",
    benchmark:
        "results/benchmarks/tpt_train/{backbone}/{init}__{target}.tsv"
    wildcard_constraints:
        init=TPT_INIT_PATTERN,
    conda:
        "../envs/workflow.yaml"
    threads: CONFIG["resources"]["train"]["threads"]
    resources:
        mem_mb=CONFIG["resources"]["train"]["mem_mb"],
        runtime=240,
        checkpoint_interval=CHECKPOINT_INTERVAL,
        gpu=CONFIG["resources"]["train"]["gpu"],
    params:
        backbone=lambda wc: as_json(backbone_job(wc.backbone)),
        task=lambda wc: as_json(scoring_job(wc.backbone, wc.target)),
        settings=lambda wc: as_json(train_job(wc.backbone, wc.target)),
    shell:
        f"python {SCRIPTS}/train_prompt.py"
        " --model {input.model} --backbone {params.backbone:q}"
        " --task {params.task:q} --settings {params.settings:q} --data-dir results/data/{wildcards.target}"
        " --init {input.init}"
        " --prompt {output.prompt} --train-log {output.log} --metrics {output.metrics} --threads {threads} --log-file {log}"
        " --checkpoint results/checkpoints/tpt_train/{wildcards.backbone}/{wildcards.init}__{wildcards.target}.safetensors"
        " --checkpoint-interval {resources.checkpoint_interval}"


checkpoint tpt_top_k:
    """tpt.pairs top_k: per target, the k sources with the best zero-shot transfer score."""
    input:
        "results/transfer/{backbone}/matrix.csv",
    output:
        "results/tpt/{backbone}/top_k.csv",
    log:
        "results/logs/tpt_top_k/{backbone}.log",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        k=CONFIG["tpt"]["top_k"],
        tasks=as_json(TASKS),
    shell:
        f"python {SCRIPTS}/tpt_top_k.py"
        " --matrix {input} --k {params.k} --tasks {params.tasks:q} --out {output} --log-file {log}"


rule tpt_speedup:
    """Per pair: steps and seconds to the threshold, speed-up and score differences."""
    input:
        unpack(tpt_summary_inputs),
    output:
        table=report(
            "results/tpt/{backbone}/speedup.csv",
            caption="../report/tpt_speedup.rst",
            category="Transferable prompt tuning",
            labels={"backbone": "{backbone}", "table": "speed-up per pair"},
        ),
        summary=report(
            "results/tpt/{backbone}/summary.csv",
            caption="../report/tpt_summary.rst",
            category="Transferable prompt tuning",
            labels={"backbone": "{backbone}", "table": "summary"},
        ),
    log:
        "results/logs/tpt_speedup/{backbone}.log",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        pairs=lambda wc: as_json(
            [[p.source, p.target, p.projected] for p in tpt_pairs(wc.backbone)]
        ),
        threshold=CONFIG["tpt"]["threshold"],
        task_types=as_json(TASK_TYPES),
    shell:
        f"python {SCRIPTS}/tpt_speedup.py"
        " --backbone {wildcards.backbone} --pairs {params.pairs:q} --threshold {params.threshold}"
        " --task-types {params.task_types:q} --table {output.table} --summary {output.summary} --log-file {log}"


rule tpt_curves:
    """Dev score against training steps per target: random init, each source, the threshold."""
    input:
        expand("results/tpt/{backbone}/speedup.csv", backbone=BACKBONES),
    output:
        report(
            "results/tpt_curves.pdf",
            caption="../report/tpt_curves.rst",
            category="Transferable prompt tuning",
            labels={"backbone": "all", "table": "training curves"},
        ),
    log:
        "results/logs/tpt_curves.log",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        tables=lambda wc, input: " ".join(f"{b}={t}" for b, t in zip(BACKBONES, input)),
        tasks=as_json(TASKS),
        task_types=as_json(TASK_TYPES),
    shell:
        f"python {SCRIPTS}/plot_tpt_curves.py"
        " --tables {params.tables} --tasks {params.tasks:q} --task-types {params.task_types:q} --out {output} --log-file {log}"
