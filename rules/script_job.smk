rule script_job:
    """The base of every rule that runs a workflow script (`use rule script_job as <rule>
    with:`), never a target itself: no input, no output. A rule adds its files and
    `params: **script_params(...)`, and threads and resources where they differ from these.
    """
    log:
        log_of("script_job"),  # each rule names its own
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **LIGHT,
    shell:
        SCRIPT_COMMAND
