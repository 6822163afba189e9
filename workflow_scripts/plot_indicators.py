"""Rule indicator_figure: rho per indicator with intervals, and a scatter per indicator, per backbone."""

import pandas as pd

from prompt_transfer import cli, indicators, plots


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--backbones", nargs="+", required=True, help="backbone=spearman.csv,indicators.csv,matrix.csv")
    p.add_argument("--out", required=True)
    return p


def main(a):
    results = {}
    for backbone, paths in cli.named_paths(a.backbones).items():
        spearman, table, matrix = (pd.read_csv(path) for path in paths.split(","))
        results[backbone] = (spearman, indicators.transfer_pairs(table, matrix))
    plots.indicators_pdf(a.out, results)


if __name__ == "__main__":
    cli.run(build_parser(), main)
