"""Transferable prompt tuning (initialisation transfer): the target task's prompt trained from a
source prompt, compared with the target's ordinary (random-init) run.

    snakemake --cores 2 results/tpt_curves.pdf --config data_dir=tests/data/sample

Pairs come from config `tpt.pairs` (src/prompt_transfer/tpt.py). Every mode except top_k is
known when the DAG is built; top_k reads the zero-shot matrix through the checkpoint tpt_top_k.
"""


# Prompt tuning of the target task from a source prompt, with the target's own settings.
use rule train_prompt as tpt_train with:
    input:
        model=model(),
        train=split("train", "{target}"),
        dev=split("dev", "{target}"),
        init=tpt_init,
    output:
        log=layout.TPT_LOG,
        prompt=layout.TPT_PROMPT,
        metrics=layout.TPT_METRICS,
    log:
        log_of("tpt_train", "{backbone}/seed{seed}/{init}__{target}"),
    benchmark:
        benchmark_of("tpt_train", "{backbone}/seed{seed}/{init}__{target}")
    wildcard_constraints:
        init=TPT_INIT_PATTERN,
    params:
        **script_params(
            "train_prompt",
            TRAIN_PROMPT_ARGUMENTS,
            job=job_spec(specs.train_job, "backbone", "target", "seed"),
            data_dir=data_dir("target"),
            init=lambda wc, input: f"--init {input.init}",
            checkpoint=layout.job_path(
                layout.CHECKPOINT,
                "tpt_train",
                "{backbone}/seed{seed}/{init}__{target}",
            ),
        ),


checkpoint tpt_top_k:
    """tpt.pairs top_k: per target, the k sources with the best zero-shot transfer score."""
    input:
        layout.MATRIX,
    output:
        layout.TPT_TOP_K,
    log:
        log_of("tpt_top_k", "{backbone}"),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **LIGHT,
    params:
        **script_params(
            "tpt_top_k",
            "--job {params.job:q} --matrix {input} --k {params.k} --out {output}",
            job=STUDY_TASKS.to_json(),
            k=CONFIG.tpt["top_k"],
        ),
    shell:
        SCRIPT_COMMAND


use rule script_job as tpt_speedup with:
    """Per pair: steps and seconds to the threshold, speed-up and score differences."""
    input:
        unpack(tpt_summary_inputs),
    output:
        table=report(
            layout.TPT_SPEEDUP,
            caption="../report/tpt_speedup.rst",
            category="Transferable prompt tuning",
            labels={"backbone": "{backbone}", "table": "speed-up per pair"},
        ),
        summary=report(
            layout.TPT_SUMMARY,
            caption="../report/tpt_summary.rst",
            category="Transferable prompt tuning",
            labels={"backbone": "{backbone}", "table": "summary"},
        ),
    log:
        log_of("tpt_speedup", "{backbone}"),
    params:
        **script_params(
            "tpt_speedup",
            (
                "--job {params.job:q} --backbone {wildcards.backbone} --pairs {params.pairs:q} --seeds {params.seeds:q} --threshold {params.threshold}"
                " --table {output.table} --summary {output.summary}"
            ),
            job=STUDY_TASKS.to_json(),
            pairs=lambda wc: json.dumps(tpt.pairs_to_json(tpt_pairs(wc.backbone))),
            seeds=lambda wc: json.dumps(seeds_of(wc.backbone)),
            threshold=CONFIG.tpt["threshold"],
        ),


use rule script_job as tpt_curves with:
    """Dev score against training steps per target: random init, each source, the threshold."""
    input:
        expand(layout.TPT_SPEEDUP, backbone=BACKBONES),
    output:
        report(
            layout.TPT_CURVES,
            caption="../report/tpt_curves.rst",
            category="Transferable prompt tuning",
            labels={"backbone": "all", "table": "training curves"},
        ),
    log:
        log_of("tpt_curves"),
    params:
        **script_params(
            "tpt_curves",
            "--job {params.job:q} --tables {params.tables} --out {output}",
            job=STUDY_TASKS.to_json(),
            tables=lambda wc, input: named_paths(BACKBONES, input),
        ),
