"""Rule train_projector_distance: fit a projector to the target backbone's own prompts (MSE)."""

from prompt_transfer import cli, projector, specs

if __name__ == "__main__":
    cli.job_script(
        __doc__,
        projector.run_distance_job,
        specs.ProjectorJob,
        [
            ("--source-prompts", {"nargs": "+", "help": "source backbone's prompts, in the order of the job's tasks"}),
            ("--target-prompts", {"nargs": "+", "help": "target backbone's own prompts of the same tasks"}),
            "--projector",
            ("--train-log", {"help": "training log CSV"}),
        ],
    )
