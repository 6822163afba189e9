"""Rule indicator_correlation: Spearman's rho of every indicator with measured transfer, and source retrieval."""

from prompt_transfer import cli, indicators, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.CorrelationJob)
    p.add_argument("--indicators", required=True)
    p.add_argument("--matrix", required=True, help="zero-shot transfer matrix.csv")
    p.add_argument("--speedup", default=None, help="TPT speedup.csv (optional)")
    p.add_argument("--spearman", required=True)
    p.add_argument("--retrieval", required=True)
    return p


def main(a):
    indicators.run_correlation_job(a.job, a.indicators, a.matrix, a.speedup, a.spearman, a.retrieval)


if __name__ == "__main__":
    cli.run(build_parser(), main)
