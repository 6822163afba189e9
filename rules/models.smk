use rule script_job as materialize_backbone with:
    """Turn a backbone's source into an HF folder; later jobs read only the manifest."""
    input:
        corpus=lambda wc: tiny_corpus(wc.backbone),
    output:
        layout.MODEL.format(models_dir=CONFIG.models_dir, backbone="{backbone}"),
    log:
        log_of("materialize_backbone", "{backbone}"),
    benchmark:
        benchmark_of("materialize_backbone", "{backbone}")
    localrule: DOWNLOADS_LOCAL
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        **script_params(
            "materialize_backbone",
            "--job {params.job:q} --corpus {input.corpus} --out-dir {params.out_dir}",
            job=job_spec(specs.backbone, "backbone"),
            out_dir=lambda wc: layout.MODEL_DIR.format(
                models_dir=CONFIG.models_dir, backbone=wc.backbone
            ),
        ),
