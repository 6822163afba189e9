"""Rule transfer_matrix: gather one backbone's zero-shot scores into matrix.csv and summary.csv."""

from prompt_transfer import cli, evaluation
from prompt_transfer.io import write_csv


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--pairs", nargs="+", required=True)
    p.add_argument("--baselines", nargs="+", required=True)
    p.add_argument("--task-types", type=cli.json_arg, required=True)
    p.add_argument("--matrix", required=True)
    p.add_argument("--summary", required=True)
    return p


def main(a):
    matrix = evaluation.transfer_matrix(a.pairs, a.baselines, a.task_types)
    write_csv(a.matrix, matrix)
    write_csv(a.summary, evaluation.transfer_summary(matrix))


if __name__ == "__main__":
    cli.run(build_parser(), main)
