"""Rules evaluate_transfer and evaluate_cross_model: zero-shot score of a prompt on a target task.

Runs prompt_transfer.evaluation.run_transfer_job, on a warm evaluation worker when possible
(prompt_transfer.worker), which saves the import and model-loading time of every one of a
study's many pair jobs.
"""

from prompt_transfer import cli, specs, worker


def build_parser():
    p = cli.parser(__doc__)
    cli.add_model_job(p, specs.TransferJob)
    p.add_argument("--prompt", required=True)
    p.add_argument("--data-dir", required=True, help="the target task's prepared data")
    p.add_argument("--out", required=True)
    return p


def main(a):
    paths = {"manifest": a.model, "prompt_path": a.prompt, "data_dir": a.data_dir, "out": a.out}
    worker.run_job("prompt_transfer.evaluation.run_transfer_job", a.job, paths, a.threads, a.log_file)


if __name__ == "__main__":
    cli.run(build_parser(), main)
