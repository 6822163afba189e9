"""Rules indicators and external_indicators: every indicator of every ordered pair of prompts."""

from prompt_transfer import cli, indicators, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.IndicatorsJob)
    p.add_argument("--prompts", nargs="+", required=True, help="task=path/to/prompt")
    p.add_argument("--neurons", nargs="+", default=None, help="task=path/to/activations.safetensors")
    p.add_argument("--out", required=True)
    return p


def main(a):
    neuron_files = cli.named_paths(a.neurons) if a.neurons else None
    indicators.run_indicators_job(a.job, cli.named_paths(a.prompts), neuron_files, a.out)


if __name__ == "__main__":
    cli.run(build_parser(), main)
