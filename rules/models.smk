rule materialize_backbone:
    """Turn a backbone's source into an HF folder; later jobs read only the manifest."""
    input:
        corpus=lambda wc: tiny_corpus(wc.backbone),
    output:
        f"{MODELS_DIR}/{{backbone}}/model.json",
    log:
        "results/logs/materialize_backbone/{backbone}.log",
    benchmark:
        "results/benchmarks/materialize_backbone/{backbone}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        spec=lambda wc: as_json(backbone_job(wc.backbone)),
        out_dir=lambda wc: f"{MODELS_DIR}/{wc.backbone}",
    shell:
        f"python {SCRIPTS}/materialize_backbone.py"
        " --backbone {params.spec:q}"
        " --out-dir {params.out_dir} --log-file {log}"
