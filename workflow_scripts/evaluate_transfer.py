"""Rule evaluate_transfer: zero-shot score of a source task's prompt on a target task."""

from prompt_transfer import cli, evaluation


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="backbone manifest (model.json)")
    p.add_argument("--backbone", type=cli.json_arg, required=True)
    p.add_argument("--task", type=cli.json_arg, required=True, help="JSON: the target task")
    p.add_argument("--settings", type=cli.json_arg, required=True)
    p.add_argument("--prompt", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    return p


def main(a):
    evaluation.run_transfer_job(a.model, a.backbone, a.task, a.settings, a.prompt, a.data_dir, a.out, a.threads)


if __name__ == "__main__":
    cli.run(build_parser(), main)
