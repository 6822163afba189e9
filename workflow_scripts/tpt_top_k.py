"""Checkpoint tpt_top_k: per target, the k sources whose prompts transfer best zero-shot."""

import pandas as pd

from prompt_transfer import cli, tpt
from prompt_transfer.io import write_csv


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--matrix", required=True, help="the backbone's zero-shot matrix.csv")
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--tasks", type=cli.json_arg, required=True, help="JSON list: the study's tasks")
    p.add_argument("--out", required=True)
    return p


def main(a):
    matrix = pd.read_csv(a.matrix)
    pairs = tpt.top_k_pairs(matrix, a.k, a.tasks)
    score = matrix.set_index(["source", "target"])["accuracy"]
    rows = [{"source": p.source, "target": p.target, "accuracy": score[(p.source, p.target)]} for p in pairs]
    write_csv(a.out, pd.DataFrame(rows, columns=["source", "target", "accuracy"]))


if __name__ == "__main__":
    cli.run(build_parser(), main)
