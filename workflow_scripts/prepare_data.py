"""Rule prepare_data: load one task (HF hub or local folder), check every row, sample the splits."""

from prompt_transfer import cli, data, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.DataJob)
    p.add_argument("--out-dir", required=True)
    return p


def main(a):
    data.prepare_task_data(a.job, a.out_dir)


if __name__ == "__main__":
    cli.run(build_parser(), main)
