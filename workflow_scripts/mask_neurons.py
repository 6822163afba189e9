"""Rule mask_neurons: a task's own prompt with its most activated neurons zeroed, and a random control."""

from prompt_transfer import cli, neurons, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_model_job(p, specs.MaskingJob)
    p.add_argument("--prompt", required=True)
    p.add_argument("--neurons", required=True, help="the prompt's activations (extract_neurons)")
    p.add_argument("--own", required=True, help="the unmasked zero-shot result of the task's own prompt")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    return p


def main(a):
    neurons.run_masking_job(a.job, a.model, a.prompt, a.neurons, a.own, a.data_dir, a.out, a.threads)


if __name__ == "__main__":
    cli.run(build_parser(), main)
