"""Transferability indicators of prompt pairs and their agreement with measured transfer.

layout.INDICATORS           every indicator, every ordered pair of one seed's task prompts
layout.SPEARMAN             Spearman's rho against zero-shot transfer (and TPT speed-up)
layout.RETRIEVAL            best-source retrieval: top-1 accuracy and regret
layout.EXTERNAL_INDICATORS  prompts from files (embedding indicators only)
layout.INDICATOR_FIGURE     rho per indicator, and a scatter per indicator
"""


use rule script_job as indicators with:
    """Embedding and neuron indicators of every ordered pair of one backbone's task prompts."""
    input:
        prompts=expand(layout.PROMPT, task=TASKS, allow_missing=True),
        neurons=expand(layout.NEURONS, task=TASKS, allow_missing=True),
    output:
        report(
            layout.INDICATORS,
            caption="../report/indicators_table.rst",
            category="Neurons and indicators",
            subcategory="{backbone}",
            labels={"table": "indicators per pair"},
        ),
    log:
        log_of("indicators", "{backbone}/seed{seed}"),
    benchmark:
        benchmark_of("indicators", "{backbone}/seed{seed}")
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **script_params(
            "indicators",
            "--job {params.job:q} --prompts {params.prompts} --neurons {params.neurons} --out {output}",
            job=job_spec(specs.indicators_job, "backbone", "seed"),
            prompts=lambda wc, input: named_paths(TASKS, input.prompts),
            neurons=lambda wc, input: named_paths(TASKS, input.neurons),
        ),


use rule script_job as external_indicators with:
    """Embedding indicators of a prompt set given as files (config indicators.external_prompts); no model."""
    input:
        lambda wc: prompt_sources.set_input_files(CONFIG, wc.prompt_set),
    output:
        report(
            layout.EXTERNAL_INDICATORS,
            caption="../report/indicators_external.rst",
            category="Neurons and indicators",
            subcategory="prompts from files",
            labels={"table": "indicators of {prompt_set}"},
        ),
    log:
        log_of("external_indicators", "{prompt_set}"),
    benchmark:
        benchmark_of("external_indicators", "{prompt_set}")
    wildcard_constraints:
        prompt_set=only(CONFIG.indicators["external_prompts"]),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **script_params(
            "indicators",
            "--job {params.job:q} --prompts {params.prompts} --out {output}",
            job=job_spec(specs.external_indicators_job, "prompt_set"),
            prompts=external_prompt_arguments,
        ),


use rule script_job as indicator_correlation with:
    """Spearman's rho of each indicator with measured transfer, and best-source retrieval."""
    input:
        indicators=lambda wc: expand(
            layout.INDICATORS, backbone=wc.backbone, seed=seeds_of(wc.backbone)
        ),
        matrix=layout.MATRIX_BY_SEED,
        speedup=lambda wc: speedup_table(wc.backbone),
    output:
        spearman=report(
            layout.SPEARMAN,
            caption="../report/indicators_spearman.rst",
            category="Neurons and indicators",
            subcategory="{backbone}",
            labels={"table": "Spearman's rho"},
        ),
        retrieval=report(
            layout.RETRIEVAL,
            caption="../report/indicators_retrieval.rst",
            category="Neurons and indicators",
            subcategory="{backbone}",
            labels={"table": "best-source retrieval"},
        ),
    log:
        log_of("indicator_correlation", "{backbone}"),
    benchmark:
        benchmark_of("indicator_correlation", "{backbone}")
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        **script_params(
            "indicator_correlation",
            (
                "--job {params.job:q} --indicators {input.indicators} --matrix {input.matrix} {params.speedup}"
                " --spearman {output.spearman} --retrieval {output.retrieval}"
            ),
            job=specs.correlation_job(CONFIG).to_json(),
            speedup=lambda wc, input: (
                f"--speedup {input.speedup}" if input.speedup else ""
            ),
        ),


use rule script_job as indicator_figure with:
    """Per backbone: rho of every indicator with intervals, and a scatter per indicator."""
    input:
        spearman=expand(layout.SPEARMAN, backbone=BACKBONES),
        matrix=expand(layout.MATRIX_BY_SEED, backbone=BACKBONES),
        indicators=[
            path
            for b in BACKBONES
            for path in expand(layout.INDICATORS, backbone=b, seed=seeds_of(b))
        ],
    output:
        report(
            layout.INDICATOR_FIGURE,
            caption="../report/indicators_figure.rst",
            category="Neurons and indicators",
            subcategory="all backbones",
            labels={"figure": "indicators vs transfer"},
        ),
    log:
        log_of("indicator_figure"),
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **script_params(
            "indicator_figure",
            "--backbones {params.backbones} --out {output}",
            # backbone=spearman.csv,matrix_by_seed.csv,indicators of each seed
            backbones=lambda wc, input: named_paths(
                BACKBONES,
                [
                    ",".join(
                        [
                            spearman,
                            matrix,
                            *expand(layout.INDICATORS, backbone=b, seed=seeds_of(b)),
                        ]
                    )
                    for b, spearman, matrix in zip(
                        BACKBONES, input.spearman, input.matrix
                    )
                ],
            ),
        ),
