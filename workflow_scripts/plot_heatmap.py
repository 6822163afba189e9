"""Rule heatmap: one annotated heatmap of relative zero-shot transfer per backbone, in one PDF."""

import pandas as pd

from prompt_transfer import cli, plots, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.StudyTasks)
    p.add_argument("--matrices", nargs="+", required=True, help="backbone=path/to/matrix.csv")
    p.add_argument("--out", required=True)
    return p


def main(a):
    matrices = {name: pd.read_csv(path) for name, path in cli.named_paths(a.matrices).items()}
    plots.heatmaps_pdf(a.out, matrices, a.job.tasks, a.job.types)


if __name__ == "__main__":
    cli.run(build_parser(), main)
