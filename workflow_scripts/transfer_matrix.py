"""Rule transfer_matrix: gather one backbone's zero-shot scores (every seed) into matrix.csv
(means over seeds, with intervals), matrix_by_seed.csv, summary.csv and type_difference.csv."""

from prompt_transfer import cli, specs, transfer
from prompt_transfer.io import write_csv


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.StudyTasks)
    p.add_argument("--pairs", nargs="+", required=True)
    p.add_argument("--baselines", nargs="+", required=True)
    p.add_argument("--matrix", required=True)
    p.add_argument("--by-seed", required=True)
    p.add_argument("--summary", required=True)
    p.add_argument("--type-difference", required=True)
    return p


def main(a):
    matrix, by_seed = transfer.transfer_matrix(a.pairs, a.baselines, a.job.types)
    write_csv(a.matrix, matrix)
    write_csv(a.by_seed, by_seed)
    write_csv(a.summary, transfer.transfer_summary(matrix))
    write_csv(a.type_difference, transfer.type_difference(matrix, by_seed, a.job.types))


if __name__ == "__main__":
    cli.run(build_parser(), main)
