"""Rule train_projector_task: train a projector through the frozen target backbone on a task set."""

from prompt_transfer import cli, projector, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_model_job(p, specs.TaskProjectorJob)
    p.add_argument(
        "--source-prompts", nargs="+", required=True, help="source backbone's prompts, in the order of the job's tasks"
    )
    p.add_argument("--data-dirs", nargs="+", required=True, help="prepared data of the job's tasks, same order")
    p.add_argument("--projector", required=True)
    p.add_argument("--train-log", required=True, help="training log CSV")
    return p


def main(a):
    projector.run_task_job(a.job, a.model, a.source_prompts, a.data_dirs, a.projector, a.train_log, a.threads)


if __name__ == "__main__":
    cli.run(build_parser(), main)
