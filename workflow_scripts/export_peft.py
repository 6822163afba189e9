"""Rules export_peft and export_peft_tpt: a trained prompt as an HF PEFT prompt-tuning adapter folder."""

from prompt_transfer import cli, peft_io, specs

if __name__ == "__main__":
    arguments = ["--prompt", ("--out", {"help": "the adapter folder (adapter_config.json, adapter_model.safetensors)"})]
    cli.job_script(__doc__, peft_io.run_export_job, specs.TrainJob, arguments, model=True, threads=False)
