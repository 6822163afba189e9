"""Rule train_projector_task: train a projector through the frozen target backbone on a task set."""

from prompt_transfer import cli, projector, specs

if __name__ == "__main__":
    cli.job_script(
        __doc__,
        projector.run_task_job,
        specs.TaskProjectorJob,
        [
            ("--source-prompts", {"nargs": "+", "help": "source backbone's prompts, in the order of the job's tasks"}),
            ("--data-dirs", {"nargs": "+", "help": "prepared data of the job's tasks, same order"}),
            "--projector",
            ("--train-log", {"help": "training log CSV"}),
        ],
        model=True,
    )
