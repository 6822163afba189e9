"""Rule tpt_curves: dev score against training steps per target, random init and every source."""

import pandas as pd

from prompt_transfer import cli, plots, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.StudyTasks)
    p.add_argument("--tables", nargs="+", required=True, help="backbone=path/to/speedup.csv")
    p.add_argument("--out", required=True)
    return p


def main(a):
    tables = {name: pd.read_csv(path) for name, path in cli.named_paths(a.tables).items()}
    plots.tpt_curves_pdf(a.out, tables, a.job.tasks, a.job.types)


if __name__ == "__main__":
    cli.run(build_parser(), main)
