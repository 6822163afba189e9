# The arguments of evaluate_transfer.py, for evaluate_transfer and evaluate_cross_model.
EVALUATE_TRANSFER_ARGUMENTS = (
    "--job {params.job:q} --model {input.model} --prompt {input.prompt}"
    " --data-dir {params.data_dir} --out {output}"
)


use rule script_job as evaluate_transfer with:
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
    threads: threads_of("evaluate")
    resources:
        **compute("evaluate", 30),
    params:
        **script_params(
            "evaluate_transfer",
            EVALUATE_TRANSFER_ARGUMENTS,
            job=job_spec(specs.transfer_job, "backbone", "target"),
            data_dir=data_dir("target"),
        ),


use rule script_job as evaluate_baselines with:
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
    threads: threads_of("evaluate")
    resources:
        **compute("evaluate", 30),
    params:
        **script_params(
            "evaluate_baselines",
            (
                "--job {params.job:q} --model {input.model}"
                " --data-dir {params.data_dir} --out {output}"
            ),
            job=job_spec(specs.baseline_job, "backbone", "target"),
            data_dir=data_dir("target"),
        ),


use rule script_job as transfer_matrix with:
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
    params:
        **script_params(
            "transfer_matrix",
            (
                "--job {params.job:q} --pairs {input.pairs} --baselines {input.baselines}"
                " --matrix {output.matrix} --by-seed {output.by_seed} --summary {output.summary}"
                " --type-difference {output.type_difference}"
            ),
            job=STUDY_TASKS.to_json(),
        ),


use rule script_job as heatmap with:
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
    params:
        **script_params(
            "heatmap",
            (
                "--job {params.job:q} --matrices {params.matrices} --type-tests {params.type_tests}"
                " --out {output}"
            ),
            job=STUDY_TASKS.to_json(),
            matrices=lambda wc, input: named_paths(BACKBONES, input.matrices),
            type_tests=lambda wc, input: named_paths(BACKBONES, input.type_tests),
        ),


use rule script_job as generation_examples with:
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
    params:
        **script_params(
            "generation_examples",
            "--pairs {input.pairs} --out {output}",
        ),


use rule script_job as paper_comparison with:
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
    params:
        **script_params(
            "paper_comparison",
            (
                "--job {params.job:q} --matrix {input.matrix}"
                " --reference {input.reference} --table {output.table} --figure {output.figure}"
            ),
            job=job_spec(specs.comparison_job, "backbone"),
        ),
