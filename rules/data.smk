rule prepare_data:
    """Load, check and sample one task's data (HF hub, or data_dir when set)."""
    output:
        train=split("train"),
        dev=split("dev"),
        validation=split("validation"),
        meta=layout.DATA_META,
    log:
        log_of("prepare_data", "{task}"),
    benchmark:
        benchmark_of("prepare_data", "{task}")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        code=code_of("prepare_data"),
        job=job_spec(specs.data_job, "task"),
        out_dir=data_dir("task"),
    shell:
        'python "$PROMPT_TRANSFER_SCRIPTS/prepare_data.py"'
        " --job {params.job:q} --out-dir {params.out_dir} --log-file {log}"
