"""Rule paper_comparison: a backbone's zero-shot matrix against a published table, cell by cell and as a figure."""

from prompt_transfer import cli, paper_comparison, specs

if __name__ == "__main__":
    arguments = ["--matrix", "--reference", "--table", "--figure"]
    cli.job_script(__doc__, paper_comparison.run_comparison_job, specs.ComparisonJob, arguments, threads=False)
