"""Checkpoint tpt_top_k: per target, the k sources whose prompts transfer best zero-shot."""

import pandas as pd

from prompt_transfer import cli, specs, tpt
from prompt_transfer.io import write_csv


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.StudyTasks)
    p.add_argument("--matrix", required=True, help="the backbone's zero-shot matrix.csv")
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--out", required=True)
    return p


def main(a):
    matrix = pd.read_csv(a.matrix)
    pairs = tpt.top_k_pairs(matrix, a.k, a.job.tasks)
    score = matrix.set_index(["source", "target"])["accuracy"]
    rows = [{"source": p.source, "target": p.target, "accuracy": score[(p.source, p.target)]} for p in pairs]
    write_csv(a.out, pd.DataFrame(rows, columns=["source", "target", "accuracy"]))


if __name__ == "__main__":
    cli.run(build_parser(), main)
