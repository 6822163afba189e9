"""Rule masking_table: one backbone's neuron-masking results in one CSV."""

from prompt_transfer import cli, neurons
from prompt_transfer.io import write_csv


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--results", nargs="+", required=True, help="mask_neurons JSON files")
    p.add_argument("--out", required=True)
    return p


def main(a):
    write_csv(a.out, neurons.masking_table(a.results))


if __name__ == "__main__":
    cli.run(build_parser(), main)
