"""Rule extract_neurons: the feed-forward activations one task's prompt evokes at the scorer's read-out."""

from prompt_transfer import cli, neurons, specs

if __name__ == "__main__":
    cli.job_script(__doc__, neurons.run_extract_job, specs.NeuronsJob, ["--prompt", "--data-dir", "--out"], model=True)
