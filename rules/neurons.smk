"""Activated neurons of each task prompt, and what zeroing the most activated ones costs.

layout.NEURONS        activations [layers, intermediate] of one task's prompt
layout.MASKING        one task's masking result
layout.MASKING_TABLE  all tasks of a backbone
"""


use rule script_job as extract_neurons with:
    """Feed-forward activations of one task's prompt at the scorer's read-out position."""
    input:
        model=model(),
        prompt=layout.PROMPT,
        train=split("train"),
    output:
        layout.NEURONS,
    log:
        log_of("extract_neurons", "{backbone}/seed{seed}/{task}"),
    benchmark:
        benchmark_of("extract_neurons", "{backbone}/seed{seed}/{task}")
    threads: threads_of("evaluate")
    resources:
        **compute("evaluate", 30),
    params:
        **script_params(
            "extract_neurons",
            (
                "--job {params.job:q} --model {input.model} --prompt {input.prompt}"
                " --data-dir {params.data_dir} --out {output}"
            ),
            job=job_spec(specs.neurons_job, "backbone", "task"),
            data_dir=data_dir("task"),
        ),


use rule script_job as mask_neurons with:
    """The task's own prompt with its top activated neurons zeroed, and as many random ones."""
    input:
        model=model(),
        prompt=layout.PROMPT,
        neurons=layout.NEURONS,
        own=layout.TRANSFER.format(
            backbone="{backbone}", seed="{seed}", source="{task}", target="{task}"
        ),
        validation=split("validation"),
    output:
        layout.MASKING,
    log:
        log_of("mask_neurons", "{backbone}/seed{seed}/{task}"),
    benchmark:
        benchmark_of("mask_neurons", "{backbone}/seed{seed}/{task}")
    threads: threads_of("evaluate")
    resources:
        **compute("evaluate", 60),
    params:
        **script_params(
            "mask_neurons",
            (
                "--job {params.job:q} --model {input.model} --prompt {input.prompt}"
                " --neurons {input.neurons} --own {input.own} --data-dir {params.data_dir}"
                " --out {output}"
            ),
            job=job_spec(specs.masking_job, "backbone", "task"),
            data_dir=data_dir("task"),
        ),


use rule script_job as masking_table with:
    """All masking results of one backbone."""
    input:
        lambda wc: expand(
            layout.MASKING,
            backbone=wc.backbone,
            seed=seeds_of(wc.backbone),
            task=TASKS,
        ),
    output:
        report(
            layout.MASKING_TABLE,
            caption="../report/masking.rst",
            category="Neurons and indicators",
            subcategory="{backbone}",
            labels={"table": "neuron masking"},
        ),
    log:
        log_of("masking_table", "{backbone}"),
    params:
        **script_params(
            "masking_table",
            "--results {input} --out {output}",
        ),
