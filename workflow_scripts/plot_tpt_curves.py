"""Rule tpt_curves: dev score against training steps per target, random init and every source."""

import pandas as pd

from prompt_transfer import cli, plots


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--tables", nargs="+", required=True, help="backbone=path/to/speedup.csv")
    p.add_argument("--tasks", type=cli.json_arg, required=True)
    p.add_argument("--task-types", type=cli.json_arg, required=True)
    p.add_argument("--out", required=True)
    return p


def main(a):
    tables = {name: pd.read_csv(path) for name, path in (t.split("=", 1) for t in a.tables)}
    plots.tpt_curves_pdf(a.out, tables, a.tasks, a.task_types)


if __name__ == "__main__":
    cli.run(build_parser(), main)
