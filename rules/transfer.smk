rule evaluate_transfer:
    """Zero-shot: the source task's prompt on the target task's validation split."""
    input:
        model=model(),
        prompt=layout.PROMPT.format(
            backbone="{backbone}", seed="{seed}", task="{source}"
        ),
        validation=split("validation", "{target}"),
    output:
        layout.TRANSFER,
    log:
        log_of("evaluate_transfer", "{backbone}/seed{seed}/{source}__{target}"),
    benchmark:
        benchmark_of("evaluate_transfer", "{backbone}/seed{seed}/{source}__{target}")
    # On a cluster, one job per backbone and target (profiles/slurm sets --group-components).
    group:
        "evaluate_{backbone}_{target}"
    conda:
        CONDA_ENV
    threads: threads_of("evaluate")
    resources:
        **compute("evaluate", 30),
    params:
        code=code_of("evaluate_transfer"),
        job=job_spec(specs.transfer_job, "backbone", "target"),
        data_dir=data_dir("target"),
    shell:
        'python "$PROMPT_TRANSFER_SCRIPTS/evaluate_transfer.py"'
        " --job {params.job:q} --model {input.model} --prompt {input.prompt}"
        " --data-dir {params.data_dir} --out {output} --threads {threads} --log-file {log}"


rule evaluate_baselines:
    """The target task with no prompt and with random prompts drawn like an initial prompt."""
    input:
        model=model(),
        validation=split("validation", "{target}"),
    output:
        layout.BASELINES,
    log:
        log_of("evaluate_baselines", "{backbone}/{target}"),
    benchmark:
        benchmark_of("evaluate_baselines", "{backbone}/{target}")
    # On a cluster, one job per backbone and target (profiles/slurm sets --group-components).
    group:
        "evaluate_{backbone}_{target}"
    conda:
        CONDA_ENV
    threads: threads_of("evaluate")
    resources:
        **compute("evaluate", 30),
    params:
        code=code_of("evaluate_baselines"),
        job=job_spec(specs.baseline_job, "backbone", "target"),
        data_dir=data_dir("target"),
    shell:
        'python "$PROMPT_TRANSFER_SCRIPTS/evaluate_baselines.py"'
        " --job {params.job:q} --model {input.model}"
        " --data-dir {params.data_dir} --out {output} --threads {threads} --log-file {log}"


rule transfer_matrix:
    """All zero-shot scores of one backbone, with relative performance and a summary."""
    input:
        pairs=lambda wc: expand(
            layout.TRANSFER,
            backbone=wc.backbone,
            seed=seeds_of(wc.backbone),
            source=TASKS,
            target=TASKS,
        ),
        baselines=expand(layout.BASELINES, target=TASKS, allow_missing=True),
    output:
        matrix=report(
            layout.MATRIX,
            caption="../report/matrix.rst",
            category="Zero-shot transfer",
            subcategory="{backbone}",
            labels={"table": "all scores"},
        ),
        by_seed=layout.MATRIX_BY_SEED,
        summary=report(
            layout.SUMMARY,
            caption="../report/summary.rst",
            category="Zero-shot transfer",
            subcategory="{backbone}",
            labels={"table": "summary per target"},
        ),
        type_difference=report(
            layout.TYPE_DIFFERENCE,
            caption="../report/type_difference.rst",
            category="Zero-shot transfer",
            subcategory="{backbone}",
            labels={"table": "same-type vs cross-type"},
        ),
    log:
        log_of("transfer_matrix", "{backbone}"),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **LIGHT,
    params:
        code=code_of("transfer_matrix"),
        job=STUDY_TASKS.to_json(),
    shell:
        'python "$PROMPT_TRANSFER_SCRIPTS/transfer_matrix.py"'
        " --job {params.job:q} --pairs {input.pairs} --baselines {input.baselines}"
        " --matrix {output.matrix} --by-seed {output.by_seed} --summary {output.summary}"
        " --type-difference {output.type_difference} --log-file {log}"


rule heatmap:
    """Relative zero-shot transfer, one annotated heatmap per backbone."""
    input:
        matrices=expand(layout.MATRIX, backbone=BACKBONES),
        type_tests=expand(layout.TYPE_DIFFERENCE, backbone=BACKBONES),
    output:
        report(
            layout.HEATMAP,
            caption="../report/heatmap.rst",
            category="Zero-shot transfer",
            subcategory="all backbones",
            labels={"figure": "heatmap"},
        ),
    log:
        log_of("heatmap"),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **LIGHT,
    params:
        code=code_of("heatmap"),
        job=STUDY_TASKS.to_json(),
        matrices=lambda wc, input: named_paths(BACKBONES, input.matrices),
        type_tests=lambda wc, input: named_paths(BACKBONES, input.type_tests),
    shell:
        'python "$PROMPT_TRANSFER_SCRIPTS/heatmap.py"'
        " --job {params.job:q} --matrices {params.matrices} --type-tests {params.type_tests}"
        " --out {output} --log-file {log}"


rule generation_examples:
    """The first texts of every generation pair, beside the heatmap in the report."""
    input:
        pairs=[
            layout.TRANSFER.format(backbone=b, seed=s, source=source, target=target)
            for b in BACKBONES
            for s in seeds_of(b)
            for source in TASKS
            for target in GENERATION_TASKS
        ],
    output:
        report(
            layout.GENERATION_EXAMPLES,
            caption="../report/generation_examples.rst",
            category="Zero-shot transfer",
            subcategory="all backbones",
            labels={"table": "generated text"},
        ),
    log:
        log_of("generation_examples"),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **LIGHT,
    params:
        code=code_of("generation_examples"),
    shell:
        'python "$PROMPT_TRANSFER_SCRIPTS/generation_examples.py"'
        " --pairs {input.pairs} --out {output} --log-file {log}"


rule paper_comparison:
    """A backbone's zero-shot matrix against the published table of its reference backbone."""
    input:
        matrix=layout.MATRIX,
        reference=lambda wc: paper_comparison.reference_path(CONFIG, wc.backbone),
    output:
        table=report(
            layout.PAPER_COMPARISON,
            caption="../report/paper_comparison_table.rst",
            category="Zero-shot transfer",
            subcategory="{backbone}",
            labels={"table": "against the paper"},
        ),
        figure=report(
            layout.PAPER_COMPARISON_FIGURE,
            caption="../report/paper_comparison_figure.rst",
            category="Zero-shot transfer",
            subcategory="{backbone}",
            labels={"figure": "against the paper"},
        ),
    log:
        log_of("paper_comparison", "{backbone}"),
    wildcard_constraints:
        backbone=only(COMPARED),
    conda:
        CONDA_ENV
    threads: 1
    resources:
        **LIGHT,
    params:
        code=code_of("paper_comparison"),
        job=job_spec(specs.comparison_job, "backbone"),
    shell:
        'python "$PROMPT_TRANSFER_SCRIPTS/paper_comparison.py"'
        " --job {params.job:q} --matrix {input.matrix}"
        " --reference {input.reference} --table {output.table} --figure {output.figure} --log-file {log}"
