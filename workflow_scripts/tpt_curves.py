"""Rule tpt_curves: dev score against training steps per target, random init and every source."""

from prompt_transfer import cli, plots, specs

if __name__ == "__main__":
    tables = ("--tables", {"nargs": "+", "type": cli.named_path, "help": "backbone=path/to/speedup.csv"})
    cli.job_script(__doc__, plots.run_tpt_curves_job, specs.StudyTasks, [tables, "--out"], threads=False)
