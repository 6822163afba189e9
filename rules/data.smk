rule prepare_data:
    """Load, check and sample one task's data (HF hub, or data_dir when set)."""
    output:
        train="results/data/{task}/train.jsonl",
        dev="results/data/{task}/dev.jsonl",
        validation="results/data/{task}/validation.jsonl",
        meta="results/data/{task}/meta.json",
    log:
        "results/logs/prepare_data/{task}.log",
    benchmark:
        "results/benchmarks/prepare_data/{task}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        spec=lambda wc: as_json(data_job(wc.task)),
    shell:
        f"python {SCRIPTS}/prepare_data.py"
        " --task {wildcards.task} --spec {params.spec:q}"
        " --out-dir results/data/{wildcards.task} --log-file {log}"
