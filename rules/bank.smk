"""Prompts to take away: every trained prompt as an HF PEFT prompt-tuning adapter, and the
prompt bank (one JSON file of provenance per prompt, and an index the report shows).

    snakemake --cores 2 results/bank/index.csv --config data_dir=tests/data/sample

The adapters load with `PeftModel.from_pretrained(base, folder)`; prompt_transfer.json beside
them holds what PEFT has no field for (template, label words, scorer, training metadata).
"""

# The arguments of export_peft.py, for export_peft and export_peft_tpt.
EXPORT_PEFT_ARGUMENTS = (
    "--job {params.job:q} --model {input.model} --prompt {input.prompt} --out {output}"
)


use rule script_job as export_peft with:
    """A trained prompt as a PEFT prompt-tuning adapter folder for its backbone."""
    input:
        model=model(),
        prompt=layout.PROMPT,
    output:
        directory(layout.PEFT_ADAPTER),
    log:
        log_of("export_peft", "{backbone}/seed{seed}/{task}"),
    params:
        **script_params(
            "export_peft",
            EXPORT_PEFT_ARGUMENTS,
            job=job_spec(specs.train_job, "backbone", "task", "seed"),
        ),


# A TPT run's prompt, exported with the settings of its target task.
use rule export_peft as export_peft_tpt with:
    input:
        model=model(),
        prompt=layout.TPT_PROMPT,
    output:
        directory(layout.TPT_PEFT_ADAPTER),
    log:
        log_of("export_peft_tpt", "{backbone}/seed{seed}/{init}__{target}"),
    wildcard_constraints:
        init=TPT_INIT_PATTERN,
    params:
        **script_params(
            "export_peft",
            EXPORT_PEFT_ARGUMENTS,
            job=job_spec(specs.train_job, "backbone", "target", "seed"),
        ),


use rule script_job as bank_entry with:
    """One trained prompt's provenance, metrics and cost."""
    input:
        model=model(),
        prompt=layout.PROMPT,
        metrics=layout.TRAIN_METRICS,
        log=layout.TRAIN_LOG,
        adapter=layout.PEFT_ADAPTER,
        validation=layout.TRANSFER.format(
            backbone="{backbone}", seed="{seed}", source="{task}", target="{task}"
        ),
        baseline=layout.BASELINES.format(backbone="{backbone}", target="{task}"),
        benchmark=benchmark_of("train_prompt", "{backbone}/seed{seed}/{task}"),
        meta=layout.DATA_META,
        splits=[split(name) for name in ("train", "dev", "validation")],
    output:
        layout.BANK_ENTRY,
    log:
        log_of("bank_entry", "{backbone}/seed{seed}/{task}"),
    params:
        **script_params(
            "bank_entry",
            (
                "--job {params.job:q} --model {input.model} --prompt {input.prompt} --metrics {input.metrics}"
                " --train-log {input.log} --adapter {input.adapter} --validation {input.validation}"
                " --baseline {input.baseline} --benchmark {input.benchmark} --data-dir {params.data_dir}"
                " --out {output}"
            ),
            job=job_spec(specs.bank_job, "backbone", "task", "seed"),
            data_dir=data_dir("task"),
        ),


use rule script_job as prompt_bank with:
    """The bank's index: one row per prompt of the study."""
    input:
        # Trained prompts: imported ones have no training to describe.
        [
            path
            for b in BACKBONES
            if b in TRAINED
            for path in expand(layout.BANK_ENTRY, backbone=b, seed=SEEDS, task=TASKS)
        ],
    output:
        report(
            layout.BANK_INDEX,
            caption="../report/prompt_bank.rst",
            category="Prompt bank",
            labels={"table": "index"},
        ),
    log:
        log_of("prompt_bank"),
    params:
        **script_params(
            "prompt_bank",
            "--entries {input} --out {output}",
        ),
