use rule script_job as prepare_data with:
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
    localrule: DOWNLOADS_LOCAL
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        **script_params(
            "prepare_data",
            "--job {params.job:q} --out-dir {params.out_dir}",
            job=job_spec(specs.data_job, "task"),
            out_dir=data_dir("task"),
        ),


rule download:
    """Every task's data and every backbone the study reads, prepared where Snakemake runs: on
    a cluster, run `snakemake --cores 1 download` on a login node, then submit the rest.
    """
    input:
        expand(layout.DATA_META, task=DOWNLOAD_TASKS),
        expand(
            layout.MODEL,
            models_dir=CONFIG.models_dir,
            backbone=DOWNLOAD_BACKBONES,
        ),
    localrule: True
