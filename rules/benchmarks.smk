"""Wall time and peak memory of every compute job of the study, in results/benchmarks.csv.

Every compute rule writes `benchmark: benchmark_of(rule, job)` (layout.BENCHMARK); listing
its jobs in BENCHMARKED_JOBS (one line per rule) puts them in the table.
"""

from prompt_transfer.benchmarks import jobs_of

BENCHMARKED_JOBS = [
    *jobs_of("prepare_data", task=TASKS),
    *jobs_of("materialize_backbone", backbone=BACKBONES),
    *jobs_of(
        "train_prompt",
        backbone=[b for b in BACKBONES if b in TRAINED],
        seed=SEEDS,
        task=TASKS,
    ),
    *jobs_of(
        "import_prompt",
        backbone=[b for b in BACKBONES if b in IMPORTED],
        seed=SEEDS[:1],
        task=TASKS,
    ),
    *[
        job
        for b in BACKBONES
        for job in jobs_of(
            "evaluate_transfer",
            backbone=[b],
            seed=seeds_of(b),
            source=TASKS,
            target=TASKS,
        )
    ],
    *jobs_of("evaluate_baselines", backbone=BACKBONES, target=TASKS),
]


use rule script_job as collect_benchmarks with:
    """Every compute job's wall seconds and peak memory in one table."""
    input:
        lambda wc: [
            getattr(rules, job["rule"]).benchmark.format(**job["wildcards"])
            for job in BENCHMARKED_JOBS
        ],
    output:
        report(
            layout.BENCHMARKS,
            caption="../report/benchmarks.rst",
            category="Compute cost",
        ),
    log:
        log_of("collect_benchmarks"),
    # Reads small files only: on a cluster it runs where Snakemake runs instead of queueing.
    localrule: True
    params:
        **script_params(
            "collect_benchmarks",
            "--jobs {params.jobs:q} --benchmarks {input} --out {output}",
            jobs=json.dumps(BENCHMARKED_JOBS, sort_keys=True),
        ),
