"""Rule project_prompt: map a source backbone's prompt into the target backbone's prompt space."""

from prompt_transfer import cli, projector


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("--projector", required=True)
    p.add_argument("--prompt", required=True, help="the source backbone's prompt")
    p.add_argument("--out", required=True, help="the projected prompt (a prompt file of the target backbone)")
    return p


def main(a):
    projector.run_project_job(a.projector, a.prompt, a.out)


if __name__ == "__main__":
    cli.run(build_parser(), main)
