rule train_prompt:
    """Prompt tuning of one task on one frozen backbone."""
    input:
        model=lambda wc: model_manifest(wc.backbone),
        train="results/data/{task}/train.jsonl",
        dev="results/data/{task}/dev.jsonl",
    output:
        prompt="results/prompts/{backbone}/{task}.safetensors",
        log=report(
            "results/prompts/{backbone}/{task}.log.csv",
            caption="../report/training_log.rst",
            category="Prompt tuning",
            subcategory="{backbone}",
            labels={"task": "{task}"},
        ),
        metrics="results/prompts/{backbone}/{task}.metrics.json",
    log:
        "results/logs/train_prompt/{backbone}/{task}.log",
    benchmark:
        "results/benchmarks/train_prompt/{backbone}/{task}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: CONFIG["resources"]["train"]["threads"]
    resources:
        mem_mb=CONFIG["resources"]["train"]["mem_mb"],
        runtime=240,
        checkpoint_interval=CHECKPOINT_INTERVAL,
        gpu=CONFIG["resources"]["train"]["gpu"],
    params:
        backbone=lambda wc: as_json(backbone_job(wc.backbone)),
        task=lambda wc: as_json(scoring_job(wc.backbone, wc.task)),
        settings=lambda wc: as_json(train_job(wc.backbone, wc.task)),
    shell:
        f"python {SCRIPTS}/train_prompt.py"
        " --model {input.model} --backbone {params.backbone:q}"
        " --task {params.task:q} --settings {params.settings:q} --data-dir results/data/{wildcards.task}"
        " --prompt {output.prompt} --train-log {output.log} --metrics {output.metrics} --threads {threads} --log-file {log}"
        " --checkpoint results/checkpoints/train_prompt/{wildcards.backbone}/{wildcards.task}.safetensors"
        " --checkpoint-interval {resources.checkpoint_interval}"
