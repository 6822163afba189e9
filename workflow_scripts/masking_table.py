"""Rule masking_table: one backbone's neuron-masking results in one CSV."""

from prompt_transfer import cli, neurons

if __name__ == "__main__":
    results = ("--results", {"nargs": "+", "help": "mask_neurons JSON files"})
    cli.job_script(__doc__, neurons.run_masking_table_job, arguments=[results, "--out"], threads=False)
