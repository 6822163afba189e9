"""Activated neurons of each task prompt, and what zeroing the most activated ones costs.

results/neurons/{backbone}/{task}.safetensors   activations [layers, intermediate]
results/neurons/{backbone}/masking/{task}.json  one task's masking result
results/neurons/{backbone}/masking.csv          all tasks of a backbone
"""


rule extract_neurons:
    """Feed-forward activations of one task's prompt at the scorer's read-out position."""
    input:
        model=lambda wc: model_manifest(wc.backbone),
        prompt="results/prompts/{backbone}/{task}.safetensors",
        train="results/data/{task}/train.jsonl",
    output:
        "results/neurons/{backbone}/{task}.safetensors",
    log:
        "results/logs/extract_neurons/{backbone}/{task}.log",
    benchmark:
        "results/benchmarks/extract_neurons/{backbone}/{task}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: CONFIG["resources"]["evaluate"]["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate"]["mem_mb"],
        runtime=30,
        gpu=CONFIG["resources"]["evaluate"]["gpu"],
    params:
        backbone=lambda wc: as_json(backbone_job(wc.backbone)),
        task=lambda wc: as_json(scoring_job(wc.backbone, wc.task)),
        settings=lambda wc: as_json(neurons_job(wc.backbone, wc.task)),
    shell:
        f"python {SCRIPTS}/extract_neurons.py"
        " --model {input.model} --backbone {params.backbone:q}"
        " --task {params.task:q} --settings {params.settings:q} --prompt {input.prompt}"
        " --data-dir results/data/{wildcards.task} --out {output} --threads {threads} --log-file {log}"


rule mask_neurons:
    """The task's own prompt with its top activated neurons zeroed, and as many random ones."""
    input:
        model=lambda wc: model_manifest(wc.backbone),
        prompt="results/prompts/{backbone}/{task}.safetensors",
        neurons="results/neurons/{backbone}/{task}.safetensors",
        own="results/transfer/{backbone}/{task}__{task}.json",
        validation="results/data/{task}/validation.jsonl",
    output:
        "results/neurons/{backbone}/masking/{task}.json",
    log:
        "results/logs/mask_neurons/{backbone}/{task}.log",
    benchmark:
        "results/benchmarks/mask_neurons/{backbone}/{task}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: CONFIG["resources"]["evaluate"]["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate"]["mem_mb"],
        runtime=60,
        gpu=CONFIG["resources"]["evaluate"]["gpu"],
    params:
        backbone=lambda wc: as_json(backbone_job(wc.backbone)),
        task=lambda wc: as_json(scoring_job(wc.backbone, wc.task)),
        settings=lambda wc: as_json(masking_job(wc.backbone, wc.task)),
    shell:
        f"python {SCRIPTS}/mask_neurons.py"
        " --model {input.model} --backbone {params.backbone:q}"
        " --task {params.task:q} --settings {params.settings:q} --prompt {input.prompt}"
        " --neurons {input.neurons} --own {input.own} --data-dir results/data/{wildcards.task}"
        " --out {output} --threads {threads} --log-file {log}"


rule masking_table:
    """All masking results of one backbone."""
    input:
        expand("results/neurons/{{backbone}}/masking/{task}.json", task=TASKS),
    output:
        report(
            "results/neurons/{backbone}/masking.csv",
            caption="../report/masking.rst",
            category="Neurons and indicators",
            subcategory="{backbone}",
            labels={"table": "neuron masking"},
        ),
    log:
        "results/logs/masking_table/{backbone}.log",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        f"python {SCRIPTS}/masking_table.py --results {{input}} --out {{output}} --log-file {{log}}"
