"""Rule indicator_correlation: Spearman's rho of every indicator with measured transfer, and source retrieval."""

from prompt_transfer import cli, indicators, specs

if __name__ == "__main__":
    cli.job_script(
        __doc__,
        indicators.run_correlation_job,
        specs.CorrelationJob,
        [
            ("--indicators", {"nargs": "+", "help": "indicators.csv of each seed of the backbone"}),
            ("--matrix", {"help": "per-seed zero-shot transfer table (matrix_by_seed.csv)"}),
            ("--speedup", {"default": None, "help": "TPT speedup.csv (optional)"}),
            "--spearman",
            "--retrieval",
        ],
        threads=False,
    )
