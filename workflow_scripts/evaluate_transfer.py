"""Rule evaluate_transfer: zero-shot score of a source task's prompt on a target task.

Served by a warm evaluation worker when possible (prompt_transfer.worker), which saves the
import and model-loading time of every one of a study's many pair jobs.
"""

from prompt_transfer import cli, worker


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
    kwargs = {"manifest": a.model, "backbone": a.backbone, "task": a.task, "settings": a.settings}
    kwargs.update(prompt_path=a.prompt, data_dir=a.data_dir, out=a.out)
    worker.run_job("transfer", cli.absolute_paths(kwargs, "manifest", "prompt_path", "data_dir", "out"), a.threads, a.log_file)


if __name__ == "__main__":
    cli.run(build_parser(), main)
