"""Rule tpt_speedup: each transferred run against the target's random-init training log of the same seed."""

from prompt_transfer import cli, specs, tpt
from prompt_transfer.io import write_csv


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.StudyTasks)
    p.add_argument("--backbone", required=True)
    p.add_argument(
        "--pairs",
        type=cli.json_arg,
        required=True,
        help="JSON list of [source, target, projected or null, prompts_of or null] (tpt.pairs_to_json)",
    )
    p.add_argument("--seeds", type=cli.json_arg, required=True, help="JSON list of the study's seeds")
    p.add_argument("--threshold", type=float, required=True, help="fraction of the random-init run's best dev score")
    p.add_argument("--table", required=True)
    p.add_argument("--summary", required=True)
    return p


def main(a):
    pairs = tpt.pairs_from_json(a.pairs)
    table = tpt.speedup_table(a.backbone, pairs, a.seeds, a.job.types, a.threshold)
    write_csv(a.table, table)
    write_csv(a.summary, tpt.speedup_summary(table))


if __name__ == "__main__":
    cli.run(build_parser(), main)
