"""Rule bank_entry: one trained prompt's provenance, metrics and cost in the prompt bank."""

from prompt_transfer import bank, cli, specs

if __name__ == "__main__":
    arguments = [
        "--prompt",
        ("--metrics", {"help": "the training metrics JSON"}),
        ("--train-log", {"help": "the training log CSV"}),
        ("--adapter", {"help": "the prompt's PEFT adapter folder"}),
        ("--validation", {"help": "the prompt's zero-shot score on its own task"}),
        ("--baseline", {"help": "the task's no-prompt and random-prompt scores"}),
        ("--benchmark", {"help": "the training job's Snakemake benchmark file"}),
        ("--data-dir", {"help": "the task's prepared data"}),
        "--out",
    ]
    cli.job_script(__doc__, bank.bank_entry, specs.BankJob, arguments, model=True, threads=False)
