"""Rules indicators and external_indicators: every indicator for every ordered pair of prompts."""

from prompt_transfer import cli, indicators


def named_paths(values: list[str]) -> dict[str, str]:
    return dict(v.split("=", 1) for v in values)


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--prompts", nargs="+", required=True, help="name=path/to/prompt")
    p.add_argument("--neurons", nargs="+", default=None, help="name=path/to/activations (ON indicators)")
    p.add_argument("--task-types", type=cli.json_arg, required=True, help="JSON: prompt name -> task type")
    p.add_argument("--settings", type=cli.json_arg, required=True, help="JSON: layer_group_size, [hidden_size, skip_rows]")
    p.add_argument("--backbone", default=None, help="backbone column of the table")
    p.add_argument("--out", required=True)
    return p


def main(a):
    neuron_files = named_paths(a.neurons) if a.neurons else None
    indicators.run_indicators_job(named_paths(a.prompts), neuron_files, a.task_types, a.settings, a.out, a.backbone)


if __name__ == "__main__":
    cli.run(build_parser(), main)
