"""Rule generation_examples: the first texts of every generation pair's zero-shot result, one
HTML table for the report (input, references, prediction, score)."""

from prompt_transfer import cli, transfer
from prompt_transfer.io import write_text


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--pairs", nargs="+", required=True)
    p.add_argument("--out", required=True)
    return p


def main(a):
    write_text(a.out, transfer.examples_page(transfer.generated_examples(a.pairs)))


if __name__ == "__main__":
    cli.run(build_parser(), main)
