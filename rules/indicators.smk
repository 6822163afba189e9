"""Transferability indicators of prompt pairs and their agreement with measured transfer.

results/indicators/{backbone}/indicators.csv       every indicator, every ordered pair of task prompts
results/indicators/{backbone}/spearman.csv         Spearman's rho against zero-shot transfer (and TPT speed-up)
results/indicators/{backbone}/retrieval.csv        best-source retrieval: top-1 accuracy and regret
results/indicators/external/{prompt_set}/indicators.csv   prompts from files (embedding indicators only)
results/indicators.pdf                             rho per indicator, and a scatter per indicator
"""


rule indicators:
    """Embedding and neuron indicators of every ordered pair of one backbone's task prompts."""
    input:
        prompts=expand("results/prompts/{{backbone}}/{task}.safetensors", task=TASKS),
        neurons=expand("results/neurons/{{backbone}}/{task}.safetensors", task=TASKS),
    output:
        report(
            "results/indicators/{backbone}/indicators.csv",
            caption="../report/indicators_table.rst",
            category="Neurons and indicators",
            subcategory="{backbone}",
            labels={"table": "indicators per pair"},
        ),
    log:
        "results/logs/indicators/{backbone}.log",
    benchmark:
        "results/benchmarks/indicators/{backbone}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        prompts=lambda wc, input: named_paths(TASKS, input.prompts),
        neurons=lambda wc, input: named_paths(TASKS, input.neurons),
        task_types=as_json(TASK_TYPES),
        settings=as_json({"layer_group_size": CONFIG["indicators"]["layer_group_size"]}),
    shell:
        f"python {SCRIPTS}/compute_indicators.py"
        " --prompts {params.prompts} --neurons {params.neurons} --task-types {params.task_types:q}"
        " --settings {params.settings:q} --backbone {wildcards.backbone} --out {output} --log-file {log}"


rule external_indicators:
    """Embedding indicators of a prompt set given as files (config indicators.external_prompts); no model."""
    input:
        lambda wc: [p["path"] for p in external_prompts(wc.prompt_set).values()],
    output:
        report(
            "results/indicators/external/{prompt_set}/indicators.csv",
            caption="../report/indicators_external.rst",
            category="Neurons and indicators",
            subcategory="prompts from files",
            labels={"table": "indicators of {prompt_set}"},
        ),
    log:
        "results/logs/external_indicators/{prompt_set}.log",
    benchmark:
        "results/benchmarks/external_indicators/{prompt_set}.tsv"
    wildcard_constraints:
        prompt_set=alternation(CONFIG["indicators"]["external_prompts"]) or "(?!)",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        prompts=lambda wc, input: named_paths(external_prompts(wc.prompt_set), input),
        task_types=lambda wc: as_json(external_types(wc.prompt_set)),
        settings=lambda wc: as_json(external_job(wc.prompt_set)),
    shell:
        f"python {SCRIPTS}/compute_indicators.py"
        " --prompts {params.prompts} --task-types {params.task_types:q}"
        " --settings {params.settings:q} --out {output} --log-file {log}"


rule indicator_correlation:
    """Spearman's rho of each indicator with measured transfer, and best-source retrieval."""
    input:
        indicators="results/indicators/{backbone}/indicators.csv",
        matrix="results/transfer/{backbone}/matrix.csv",
        speedup=lambda wc: speedup_table(wc.backbone),
    output:
        spearman=report(
            "results/indicators/{backbone}/spearman.csv",
            caption="../report/indicators_spearman.rst",
            category="Neurons and indicators",
            subcategory="{backbone}",
            labels={"table": "Spearman's rho"},
        ),
        retrieval=report(
            "results/indicators/{backbone}/retrieval.csv",
            caption="../report/indicators_retrieval.rst",
            category="Neurons and indicators",
            subcategory="{backbone}",
            labels={"table": "best-source retrieval"},
        ),
    log:
        "results/logs/indicator_correlation/{backbone}.log",
    benchmark:
        "results/benchmarks/indicator_correlation/{backbone}.tsv"
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        settings=as_json(correlation_job()),
        speedup=lambda wc, input: f"--speedup {input.speedup}" if input.speedup else "",
    shell:
        f"python {SCRIPTS}/indicator_correlation.py"
        " --indicators {input.indicators} --matrix {input.matrix} {params.speedup} --settings {params.settings:q}"
        " --spearman {output.spearman} --retrieval {output.retrieval} --log-file {log}"


rule indicator_figure:
    """Per backbone: rho of every indicator with intervals, and a scatter per indicator."""
    input:
        spearman=expand(
            "results/indicators/{backbone}/spearman.csv", backbone=BACKBONES
        ),
        indicators=expand(
            "results/indicators/{backbone}/indicators.csv", backbone=BACKBONES
        ),
        matrix=expand("results/transfer/{backbone}/matrix.csv", backbone=BACKBONES),
    output:
        report(
            "results/indicators.pdf",
            caption="../report/indicators_figure.rst",
            category="Neurons and indicators",
            subcategory="all backbones",
            labels={"figure": "indicators vs transfer"},
        ),
    log:
        "results/logs/indicator_figure.log",
    conda:
        "../envs/workflow.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        backbones=lambda wc, input: " ".join(
            f"{b}={s},{i},{m}"
            for b, s, i, m in zip(
                BACKBONES, input.spearman, input.indicators, input.matrix
            )
        ),
    shell:
        f"python {SCRIPTS}/plot_indicators.py --backbones {{params.backbones}} --out {{output}} --log-file {{log}}"
