"""Rule cross_model_figure: one heatmap per backbone pair of projected prompts' zero-shot accuracy."""

import pandas as pd

from prompt_transfer import cli, plots, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.StudyTasks)
    p.add_argument("--tables", nargs="+", required=True, help="source__target=path/to/table.csv")
    p.add_argument("--task-sets", type=cli.json_arg, required=True, help="JSON: task set name -> its tasks")
    p.add_argument("--out", required=True)
    return p


def main(a):
    tables = {tuple(name.split("__", 1)): pd.read_csv(path) for name, path in cli.named_paths(a.tables).items()}
    plots.cross_model_pdf(a.out, tables, a.job.types, a.task_sets)


if __name__ == "__main__":
    cli.run(build_parser(), main)
