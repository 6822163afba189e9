"""Rule indicator_figure: rho per indicator with intervals, and a scatter per indicator, per backbone."""

import pandas as pd

from prompt_transfer import cli, indicators, plots


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument(
        "--backbones",
        nargs="+",
        required=True,
        help="backbone=spearman.csv,matrix_by_seed.csv,indicators.csv[,indicators.csv...]: the backbone's "
        "Spearman table, per-seed transfer table, then its indicator tables (one per seed)",
    )
    p.add_argument("--out", required=True)
    return p


def main(a):
    results = {}
    for backbone, paths in cli.named_paths(a.backbones).items():
        spearman, matrix, *tables = (pd.read_csv(path) for path in paths.split(","))
        results[backbone] = (spearman, indicators.transfer_pairs(pd.concat(tables, ignore_index=True), matrix))
    plots.indicators_pdf(a.out, results)


if __name__ == "__main__":
    cli.run(build_parser(), main)
