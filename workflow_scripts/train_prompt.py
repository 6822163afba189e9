"""Rules train_prompt and tpt_train: tune one task's soft prompt on one frozen backbone."""

from prompt_transfer import cli, specs, training


def build_parser():
    p = cli.parser(__doc__)
    cli.add_model_job(p, specs.TrainJob)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--init", default=None, help="start from this prompt file instead of a random prompt")
    p.add_argument("--prompt", required=True)
    p.add_argument("--train-log", required=True, help="training log CSV")
    p.add_argument("--metrics", required=True)
    p.add_argument("--checkpoint", default=None, help="save/resume the training state here")
    p.add_argument("--checkpoint-interval", type=int, default=0, help="steps between saved states (0: none)")
    return p


def main(a):
    outputs = (a.prompt, a.train_log, a.metrics)
    training.run_train_job(a.job, a.model, a.data_dir, *outputs, a.threads, a.init, a.checkpoint, a.checkpoint_interval)


if __name__ == "__main__":
    cli.run(build_parser(), main)
