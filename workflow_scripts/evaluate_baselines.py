"""Rule evaluate_baselines: a target task with no prompt and with random prompts.

Served by a warm evaluation worker when possible (prompt_transfer.worker).
"""

from prompt_transfer import cli, worker


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="backbone manifest (model.json)")
    p.add_argument("--backbone", type=cli.json_arg, required=True)
    p.add_argument("--task", type=cli.json_arg, required=True, help="JSON: the target task")
    p.add_argument("--settings", type=cli.json_arg, required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    return p


def main(a):
    kwargs = {"manifest": a.model, "backbone": a.backbone, "task": a.task, "settings": a.settings}
    kwargs.update(data_dir=a.data_dir, out=a.out)
    worker.run_job("baseline", cli.absolute_paths(kwargs, "manifest", "data_dir", "out"), a.threads, a.log_file)


if __name__ == "__main__":
    cli.run(build_parser(), main)
