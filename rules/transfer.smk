rule evaluate_transfer:
    """Zero-shot: the source task's prompt on the target task's validation split."""
    input:
        model=lambda wc: model_manifest(wc.backbone),
        prompt="results/prompts/{backbone}/{source}.safetensors",
        validation="results/data/{target}/validation.jsonl",
    output:
        "results/transfer/{backbone}/{source}__{target}.json",
    log:
        "results/logs/evaluate_transfer/{backbone}/{source}__{target}.log",
    benchmark:
        "results/benchmarks/evaluate_transfer/{backbone}/{source}__{target}.tsv"
    # On a cluster, one job per backbone and target (profiles/slurm sets --group-components).
    group:
        "evaluate_{backbone}_{target}"
    conda:
        "../envs/workflow.yaml"
    threads: CONFIG["resources"]["evaluate"]["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate"]["mem_mb"],
        runtime=30,
        gpu=CONFIG["resources"]["evaluate"]["gpu"],
    params:
        backbone=lambda wc: as_json(backbone_job(wc.backbone)),
        task=lambda wc: as_json(scoring_job(wc.backbone, wc.target)),
        settings=lambda wc: as_json(eval_job(wc.backbone, wc.target)),
    shell:
        f"python {SCRIPTS}/evaluate_transfer.py"
        " --model {input.model} --backbone {params.backbone:q}"
        " --task {params.task:q} --settings {params.settings:q} --prompt {input.prompt}"
        " --data-dir results/data/{wildcards.target} --out {output} --threads {threads} --log-file {log}"


rule evaluate_baselines:
    """The target task with no prompt and with random prompts drawn like an initial prompt."""
    input:
        model=lambda wc: model_manifest(wc.backbone),
        validation="results/data/{target}/validation.jsonl",
    output:
        "results/transfer/{backbone}/baselines/{target}.json",
    log:
        "results/logs/evaluate_baselines/{backbone}/{target}.log",
    benchmark:
        "results/benchmarks/evaluate_baselines/{backbone}/{target}.tsv"
    # On a cluster, one job per backbone and target (profiles/slurm sets --group-components).
    group:
        "evaluate_{backbone}_{target}"
    conda:
        "../envs/workflow.yaml"
    threads: CONFIG["resources"]["evaluate"]["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate"]["mem_mb"],
        runtime=30,
        gpu=CONFIG["resources"]["evaluate"]["gpu"],
    params:
        backbone=lambda wc: as_json(backbone_job(wc.backbone)),
        task=lambda wc: as_json(scoring_job(wc.backbone, wc.target)),
        settings=lambda wc: as_json(baseline_job(wc.backbone, wc.target)),
    shell:
        f"python {SCRIPTS}/evaluate_baselines.py"
        " --model {input.model} --backbone {params.backbone:q}"
        " --task {params.task:q} --settings {params.settings:q}"
        " --data-dir results/data/{wildcards.target} --out {output} --threads {threads} --log-file {log}"


rule transfer_matrix:
    """All zero-shot scores of one backbone, with relative performance and a summary."""
    input:
        pairs=expand(
            "results/transfer/{{backbone}}/{source}__{target}.json",
            source=TASKS,
            target=TASKS,
        ),
        baselines=expand(
            "results/transfer/{{backbone}}/baselines/{target}.json", target=TASKS
        ),
    output:
        matrix=report(
            "results/transfer/{backbone}/matrix.csv",
            caption="../report/matrix.rst",
            category="Zero-shot transfer",
            subcategory="{backbone}",
            labels={"table": "all scores"},
        ),
        summary=report(
            "results/transfer/{backbone}/summary.csv",
            caption="../report/summary.rst",
            category="Zero-shot transfer",
            subcategory="{backbone}",
            labels={"table": "summary per target"},
        ),
    log:
        "results/logs/transfer_matrix/{backbone}.log",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        task_types=as_json(TASK_TYPES),
    shell:
        f"python {SCRIPTS}/transfer_matrix.py"
        " --pairs {input.pairs} --baselines {input.baselines}"
        " --task-types {params.task_types:q} --matrix {output.matrix} --summary {output.summary} --log-file {log}"


rule heatmap:
    """Relative zero-shot transfer, one annotated heatmap per backbone."""
    input:
        expand("results/transfer/{backbone}/matrix.csv", backbone=BACKBONES),
    output:
        report(
            "results/heatmap.pdf",
            caption="../report/heatmap.rst",
            category="Zero-shot transfer",
            subcategory="all backbones",
            labels={"figure": "heatmap"},
        ),
    log:
        "results/logs/heatmap.log",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        matrices=lambda wc, input: " ".join(
            f"{b}={m}" for b, m in zip(BACKBONES, input)
        ),
        tasks=as_json(TASKS),
        task_types=as_json(TASK_TYPES),
    shell:
        f"python {SCRIPTS}/plot_heatmap.py"
        " --matrices {params.matrices} --tasks {params.tasks:q}"
        " --task-types {params.task_types:q} --out {output} --log-file {log}"
