"""Rule import_prompt: one task's prompt read from the backbone's prompt source, written as a prompt file."""

from prompt_transfer import cli, prompt_import, specs

if __name__ == "__main__":
    cli.job_script(__doc__, prompt_import.run_import_job, specs.ImportJob, ["--out"], model=True)
