"""Rule indicator_correlation: Spearman's rho of every indicator with measured transfer, and source retrieval."""

from prompt_transfer import cli, indicators, specs

if __name__ == "__main__":
    cli.job_script(
        __doc__,
        indicators.run_correlation_job,
        specs.CorrelationJob,
        [
            "--indicators",
            ("--matrix", {"help": "zero-shot transfer matrix.csv"}),
            ("--speedup", {"default": None, "help": "TPT speedup.csv (optional)"}),
            "--spearman",
            "--retrieval",
        ],
        threads=False,
    )
