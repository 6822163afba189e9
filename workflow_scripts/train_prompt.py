"""Rule train_prompt: tune one task's soft prompt on one frozen backbone."""

from prompt_transfer import cli, training


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="backbone manifest (model.json)")
    p.add_argument("--backbone", type=cli.json_arg, required=True)
    p.add_argument("--task", type=cli.json_arg, required=True)
    p.add_argument("--settings", type=cli.json_arg, required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--init", default=None, help="start from this prompt file instead of a random prompt")
    p.add_argument("--prompt", required=True)
    p.add_argument("--train-log", required=True, help="training log CSV")
    p.add_argument("--metrics", required=True)
    p.add_argument("--checkpoint", default=None, help="save/resume the training state here")
    p.add_argument("--checkpoint-interval", type=int, default=0, help="steps between saved states (0: none)")
    return p


def main(a):
    training.run_train_job(
        a.model, a.backbone, a.task, a.settings, a.data_dir, a.prompt, a.train_log, a.metrics, a.threads, a.init, a.checkpoint, a.checkpoint_interval
    )


if __name__ == "__main__":
    cli.run(build_parser(), main)
