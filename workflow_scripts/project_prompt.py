"""Rule project_prompt: map a source backbone's prompt into the target backbone's prompt space."""

from prompt_transfer import cli, projector

if __name__ == "__main__":
    arguments = [
        "--projector",
        ("--prompt", {"help": "the source backbone's prompt"}),
        ("--out", {"help": "the projected prompt (a prompt file of the target backbone)"}),
    ]
    cli.job_script(__doc__, projector.run_project_job, arguments=arguments, threads=False)
