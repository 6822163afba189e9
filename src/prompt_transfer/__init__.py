"""Prompt transferability (Su et al., NAACL 2022): data, scorers, training, evaluation, plots."""
