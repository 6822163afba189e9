"""Transferability of prompt tuning (Su et al., NAACL 2022) as a Snakemake workflow.

    snakemake --cores 8 results/heatmap.pdf                        # tasks and models from the HF hub
    snakemake --cores 8 results/heatmap.pdf --config data_dir=tests/data/sample  # local task data

See docs/usage.md for the stages and every result path.
"""

import os
import sys

# The workflow's logic lives in src/prompt_transfer; jobs find it there too (conda envs hold
# only dependencies), and the rules' scripts in workflow_scripts. Both reach jobs through the
# environment, so no command Snakemake records holds a path of this machine: moving the project
# re-runs nothing.
SRC = os.path.join(workflow.basedir, "src")
SCRIPTS = os.path.join(workflow.basedir, "workflow_scripts")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=SRC, PROMPT_TRANSFER_SCRIPTS=SCRIPTS)


from prompt_transfer.config import ConfigError, read_yaml_file

REGISTRY = os.path.join(workflow.basedir, "config.yaml")
try:
    # Snakemake's own message names neither the file nor the line.
    read_yaml_file(REGISTRY)
except ConfigError as error:
    sys.exit(f"error: {error}")


# The registry; --configfile files are layered over it, --config keys over both.
configfile: REGISTRY


# `snakemake --report results/report.html`: this text, then every output wrapped in report().
report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/script_job.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/train.smk"
include: "rules/transfer.smk"
include: "rules/tpt.smk"
include: "rules/projector.smk"
include: "rules/neurons.smk"
include: "rules/indicators.smk"
include: "rules/bank.smk"
include: "rules/benchmarks.smk"


rule all:
    default_target: True
    input:
        layout.HEATMAP,
        [layout.GENERATION_EXAMPLES] if GENERATION_TASKS else [],
        expand(layout.SUMMARY, backbone=BACKBONES),
        expand(layout.PAPER_COMPARISON, backbone=COMPARED),
