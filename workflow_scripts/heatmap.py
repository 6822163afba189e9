"""Rule heatmap: one annotated heatmap of relative zero-shot transfer per backbone, and its
same-type vs cross-type comparison, in one PDF."""

from prompt_transfer import cli, plots, specs

if __name__ == "__main__":
    matrices = ("--matrices", {"nargs": "+", "type": cli.named_path, "help": "backbone=path/to/matrix.csv"})
    tests = ("--type-tests", {"nargs": "+", "type": cli.named_path, "help": "backbone=path/to/type_difference.csv"})
    cli.job_script(__doc__, plots.run_heatmap_job, specs.StudyTasks, [matrices, tests, "--out"], threads=False)
