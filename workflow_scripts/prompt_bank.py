"""Rule prompt_bank: the index of the prompt bank, one row per entry."""

from prompt_transfer import bank, cli

if __name__ == "__main__":
    entries = ("--entries", {"nargs": "+", "help": "bank entry JSON files"})
    cli.job_script(__doc__, bank.bank_index, arguments=[entries, "--out"], threads=False)
