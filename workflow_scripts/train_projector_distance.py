"""Rule train_projector_distance: fit a projector to the target backbone's own prompts (MSE)."""

from prompt_transfer import cli, projector, specs


def build_parser():
    p = cli.parser(__doc__)
    cli.add_job(p, specs.ProjectorJob)
    p.add_argument(
        "--source-prompts", nargs="+", required=True, help="source backbone's prompts, in the order of the job's tasks"
    )
    p.add_argument("--target-prompts", nargs="+", required=True, help="target backbone's own prompts of the same tasks")
    p.add_argument("--projector", required=True)
    p.add_argument("--train-log", required=True, help="training log CSV")
    return p


def main(a):
    projector.run_distance_job(a.job, a.source_prompts, a.target_prompts, a.projector, a.train_log, a.threads)


if __name__ == "__main__":
    cli.run(build_parser(), main)
