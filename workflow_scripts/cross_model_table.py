"""Rule cross_model_table: zero-shot accuracy of projected prompts and references per target task."""

from collections import defaultdict

from prompt_transfer import cli, cross_model
from prompt_transfer.io import write_csv


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--projected", nargs="+", required=True, help="objective/taskset=path/to/score.json")
    p.add_argument("--own", nargs="+", required=True, help="the target's own prompts' scores")
    p.add_argument("--baselines", nargs="+", required=True, help="the target's baseline scores")
    p.add_argument("--tasks", type=cli.json_arg, required=True, help="JSON: target tasks (the columns)")
    p.add_argument("--out", required=True)
    return p


def main(a):
    projected = defaultdict(list)
    for item in a.projected:
        name, path = item.split("=", 1)
        projected[tuple(name.split("/", 1))].append(path)
    write_csv(a.out, cross_model.cross_model_table(projected, a.own, a.baselines, a.tasks))


if __name__ == "__main__":
    cli.run(build_parser(), main)
