rule materialize_backbone:
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
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        code=code_of("materialize_backbone"),
        job=job_spec(specs.backbone, "backbone"),
        out_dir=lambda wc: layout.MODEL_DIR.format(
            models_dir=CONFIG.models_dir, backbone=wc.backbone
        ),
    shell:
        'python "$PROMPT_TRANSFER_SCRIPTS/materialize_backbone.py"'
        " --job {params.job:q} --corpus {input.corpus} --out-dir {params.out_dir} --log-file {log}"
