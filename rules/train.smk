# The arguments of train_prompt.py, for train_prompt and tpt_train.
TRAIN_PROMPT_ARGUMENTS = (
    "--job {params.job:q} --model {input.model} --data-dir {params.data_dir} {params.init}"
    " --prompt {output.prompt} --train-log {output.log} --metrics {output.metrics}"
    " --checkpoint {params.checkpoint} --checkpoint-interval {resources.checkpoint_interval}"
)


use rule script_job as train_prompt with:
    """Prompt tuning of one task on one frozen backbone."""
    input:
        model=model(),
        train=split("train"),
        dev=split("dev"),
    output:
        prompt=layout.PROMPT,
        log=report(
            layout.TRAIN_LOG,
            caption="../report/training_log.rst",
            category="Prompt tuning",
            subcategory="{backbone}",
            labels={"task": "{task}"},
        ),
        metrics=layout.TRAIN_METRICS,
    log:
        log_of("train_prompt", "{backbone}/seed{seed}/{task}"),
    benchmark:
        benchmark_of("train_prompt", "{backbone}/seed{seed}/{task}")
    # Backbones with a prompt source get their prompts from import_prompt.
    wildcard_constraints:
        backbone=only(TRAINED),
    threads: threads_of("train")
    resources:
        **compute("train", 240, checkpoint_interval=CHECKPOINT_INTERVAL),
    params:
        **script_params(
            "train_prompt",
            TRAIN_PROMPT_ARGUMENTS,
            job=job_spec(specs.train_job, "backbone", "task", "seed"),
            data_dir=data_dir("task"),
            init="",
            checkpoint=layout.job_path(
                layout.CHECKPOINT, "train_prompt", "{backbone}/seed{seed}/{task}"
            ),
        ),


use rule script_job as import_prompt with:
    """One task's prompt from the backbone's prompt source (config backbones.<b>.prompts), no training."""
    input:
        model=model(),
        files=imported_prompt_files,
    output:
        layout.PROMPT,
    log:
        log_of("import_prompt", "{backbone}/seed{seed}/{task}"),
    benchmark:
        benchmark_of("import_prompt", "{backbone}/seed{seed}/{task}")
    wildcard_constraints:
        backbone=only(IMPORTED),
    localrule: DOWNLOADS_LOCAL
    params:
        **script_params(
            "import_prompt",
            "--job {params.job:q} --model {input.model} --out {output}",
            job=job_spec(specs.import_job, "backbone", "task"),
        ),
