"""Rule mask_neurons: a task's own prompt with its most activated neurons zeroed, and a random control."""

from prompt_transfer import cli, neurons, specs

if __name__ == "__main__":
    cli.job_script(
        __doc__,
        neurons.run_masking_job,
        specs.MaskingJob,
        [
            "--prompt",
            ("--neurons", {"help": "the prompt's activations (extract_neurons)"}),
            ("--own", {"help": "the unmasked zero-shot result of the task's own prompt"}),
            "--data-dir",
            "--out",
        ],
        model=True,
    )
