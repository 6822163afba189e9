"""Rule prepare_data: load one task (HF hub or local folder), check every row, sample the splits."""

from prompt_transfer import cli, data, specs

if __name__ == "__main__":
    cli.job_script(__doc__, data.prepare_task_data, specs.DataJob, ["--out-dir"], threads=False)
