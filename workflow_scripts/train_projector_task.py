"""Rule train_projector_task: train a projector through the frozen target backbone on a task set."""

from prompt_transfer import cli, projector


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="target backbone manifest (model.json)")
    p.add_argument("--backbone", type=cli.json_arg, required=True, help="JSON: the target backbone's registry entry")
    p.add_argument("--job", type=cli.json_arg, required=True, help="JSON: pair, task set, tasks, scoring, settings")
    p.add_argument("--source-prompts", nargs="+", required=True, help="source backbone's prompts, in the order of the job's tasks")
    p.add_argument("--data-dirs", nargs="+", required=True, help="prepared data of the job's tasks, same order")
    p.add_argument("--projector", required=True)
    p.add_argument("--train-log", required=True, help="training log CSV")
    return p


def main(a):
    projector.run_task_job(a.model, a.backbone, a.job, a.source_prompts, a.data_dirs, a.projector, a.train_log, a.threads)


if __name__ == "__main__":
    cli.run(build_parser(), main)
