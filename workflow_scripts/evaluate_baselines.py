"""Rule evaluate_baselines: the target task with no prompt and with random prompts.

Runs prompt_transfer.evaluation.run_baseline_job, on a warm evaluation worker when possible,
like evaluate_transfer.
"""

from prompt_transfer import cli, specs, worker


def build_parser():
    p = cli.parser(__doc__)
    cli.add_model_job(p, specs.BaselineJob)
    p.add_argument("--data-dir", required=True, help="the target task's prepared data")
    p.add_argument("--out", required=True)
    return p


def main(a):
    paths = {"manifest": a.model, "data_dir": a.data_dir, "out": a.out}
    worker.run_job("prompt_transfer.evaluation.run_baseline_job", a.job, paths, a.threads, a.log_file)


if __name__ == "__main__":
    cli.run(build_parser(), main)
