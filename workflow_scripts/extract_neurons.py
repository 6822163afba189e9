"""Rule extract_neurons: the feed-forward activations one task's prompt evokes at the scorer's read-out."""

from prompt_transfer import cli, neurons


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--model", required=True, help="backbone manifest (model.json)")
    p.add_argument("--backbone", type=cli.json_arg, required=True)
    p.add_argument("--task", type=cli.json_arg, required=True)
    p.add_argument("--settings", type=cli.json_arg, required=True, help="JSON: evaluation settings and inputs")
    p.add_argument("--prompt", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    return p


def main(a):
    neurons.run_extract_job(a.model, a.backbone, a.task, a.settings, a.prompt, a.data_dir, a.out, a.threads)


if __name__ == "__main__":
    cli.run(build_parser(), main)
