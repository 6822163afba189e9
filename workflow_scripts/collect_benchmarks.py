"""Rule collect_benchmarks: every compute job's wall time and peak memory in one CSV."""

from prompt_transfer import benchmarks, cli
from prompt_transfer.io import write_csv


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--jobs", type=cli.json_arg, required=True, help='[{"rule": ..., "wildcards": ...}], one per file')
    p.add_argument("--benchmarks", nargs="+", required=True, help="the jobs' benchmark files, in the same order")
    p.add_argument("--out", required=True)
    return p


def main(a):
    write_csv(a.out, benchmarks.benchmark_table(a.jobs, a.benchmarks))


if __name__ == "__main__":
    cli.run(build_parser(), main)
