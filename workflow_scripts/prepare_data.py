"""Rule prepare_data: load one task (HF hub or local folder), check every row, sample the splits."""

from prompt_transfer import cli, data


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--task", required=True)
    p.add_argument("--spec", type=cli.json_arg, required=True, help="JSON: task entry, sampling, data_dir")
    p.add_argument("--out-dir", required=True)
    return p


def main(a):
    data.prepare_task_data(a.task, a.spec["task"], a.spec["sampling"], a.spec["data_dir"], a.out_dir)


if __name__ == "__main__":
    cli.run(build_parser(), main)
