"""Rule heatmap: one annotated heatmap of relative zero-shot transfer per backbone, in one PDF."""

import pandas as pd

from prompt_transfer import cli, plots


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--matrices", nargs="+", required=True, help="backbone=path/to/matrix.csv")
    p.add_argument("--tasks", type=cli.json_arg, required=True)
    p.add_argument("--task-types", type=cli.json_arg, required=True)
    p.add_argument("--out", required=True)
    return p


def main(a):
    matrices = {name: pd.read_csv(path) for name, path in (m.split("=", 1) for m in a.matrices)}
    plots.heatmaps_pdf(a.out, matrices, a.tasks, a.task_types)


if __name__ == "__main__":
    cli.run(build_parser(), main)
