"""Rule extract_neurons: the feed-forward activations one task's prompt evokes at the scorer's read-out."""

from prompt_transfer import cli, neurons, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_model_job(p, specs.NeuronsJob)
    p.add_argument("--prompt", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    return p


def main(a):
    neurons.run_extract_job(a.job, a.model, a.prompt, a.data_dir, a.out, a.threads)


if __name__ == "__main__":
    cli.run(build_parser(), main)
