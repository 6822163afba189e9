"""Where every result lives: the one place the results layout is spelled.

Each path is a template whose fields are the rules' wildcards, so a rule names its output as
`layout.PROMPT` and the package fills the same template with `.format(...)`. Paths are relative
to the working directory Snakemake runs in. One file per unit of work, so Snakemake re-runs
exactly what changed.

`{seed}` is a training seed of config study.seeds: everything made from a trained prompt is kept
per seed (results/prompts/{backbone}/seed0/...), every table over seeds is not.
"""

# data and backbones
DATA_DIR = "results/data/{task}"
SPLIT = "results/data/{task}/{split}.jsonl"
DATA_META = "results/data/{task}/meta.json"
MODEL_DIR = "{models_dir}/{backbone}"  # config models_dir (default results/models)
MODEL = "{models_dir}/{backbone}/model.json"  # manifest naming the HF folder jobs load

# prompt tuning
PROMPT = "results/prompts/{backbone}/seed{seed}/{task}.safetensors"
TRAIN_LOG = "results/prompts/{backbone}/seed{seed}/{task}.log.csv"
TRAIN_METRICS = "results/prompts/{backbone}/seed{seed}/{task}.metrics.json"

# zero-shot transfer
TRANSFER = "results/transfer/{backbone}/seed{seed}/{source}__{target}.json"
BASELINES = "results/transfer/{backbone}/baselines/{target}.json"
MATRIX = "results/transfer/{backbone}/matrix.csv"  # means over seeds
MATRIX_BY_SEED = "results/transfer/{backbone}/matrix_by_seed.csv"  # each seed's prompts
SUMMARY = "results/transfer/{backbone}/summary.csv"
TYPE_DIFFERENCE = "results/transfer/{backbone}/type_difference.csv"
HEATMAP = "results/heatmap.pdf"
GENERATION_EXAMPLES = "results/generation_examples.html"  # the first texts of each generation pair
PAPER_COMPARISON = "results/paper_comparison/{backbone}.csv"  # against a published table
PAPER_COMPARISON_FIGURE = "results/paper_comparison/{backbone}.pdf"

# transferable prompt tuning: {init} is a task, or a projected prompt's source@from.objective.taskset
TPT_LOG = "results/tpt/{backbone}/seed{seed}/{init}__{target}.csv"
TPT_PROMPT = "results/tpt/{backbone}/seed{seed}/{init}__{target}.safetensors"
TPT_METRICS = "results/tpt/{backbone}/seed{seed}/{init}__{target}.metrics.json"
TPT_TOP_K = "results/tpt/{backbone}/top_k.csv"
TPT_SPEEDUP = "results/tpt/{backbone}/speedup.csv"
TPT_SUMMARY = "results/tpt/{backbone}/summary.csv"
TPT_CURVES = "results/tpt_curves.pdf"

# cross-model transfer
PROJECTOR = "results/projectors/{source_model}__{target_model}/seed{seed}/{objective}__{taskset}.safetensors"
PROJECTOR_LOG = "results/projectors/{source_model}__{target_model}/seed{seed}/{objective}__{taskset}.log.csv"
PROJECTED = (
    "results/projectors/{source_model}__{target_model}/seed{seed}/projected/{objective}__{taskset}/{task}.safetensors"
)
CROSS_MODEL_SCORE = "results/cross_model/{source_model}__{target_model}/seed{seed}/{objective}__{taskset}/{task}.json"
CROSS_MODEL_TABLE = "results/cross_model/{source_model}__{target_model}.csv"
CROSS_MODEL_FIGURE = "results/cross_model.pdf"

# neurons and indicators
NEURONS = "results/neurons/{backbone}/seed{seed}/{task}.safetensors"
MASKING = "results/neurons/{backbone}/seed{seed}/masking/{task}.json"
MASKING_TABLE = "results/neurons/{backbone}/masking.csv"
INDICATORS = "results/indicators/{backbone}/seed{seed}/indicators.csv"
SPEARMAN = "results/indicators/{backbone}/spearman.csv"
RETRIEVAL = "results/indicators/{backbone}/retrieval.csv"
EXTERNAL_INDICATORS = "results/indicators/external/{prompt_set}/indicators.csv"
INDICATOR_FIGURE = "results/indicators.pdf"

# prompts to take away: PEFT adapter folders and the prompt bank
PEFT_ADAPTER = "results/peft/{backbone}/seed{seed}/{task}"  # folder: adapter_config.json, adapter_model.safetensors, prompt_transfer.json
TPT_PEFT_ADAPTER = "results/peft/{backbone}/seed{seed}/tpt/{init}__{target}"
BANK_ENTRY = "results/bank/{backbone}/seed{seed}/{task}.json"
BANK_INDEX = "results/bank/index.csv"

# bookkeeping of jobs: {job} is the job's wildcards joined by "/" (see job_path)
BENCHMARKS = "results/benchmarks.csv"
LOG = "results/logs/{rule}/{job}.log"
BENCHMARK = "results/benchmarks/{rule}/{job}.tsv"
CHECKPOINT = "results/checkpoints/{rule}/{job}.safetensors"


def seed_of(path) -> int:
    """The training seed of a per-seed result, read from its path (the `seed{seed}` folder)."""
    import re

    found = re.search(r"(?:^|/)seed(\d+)/", str(path))
    if found is None:
        raise ValueError(f"{path}: not a per-seed result (no seed<N>/ folder)")
    return int(found.group(1))


def job_path(template: str, rule: str, job: str = "") -> str:
    """A rule's log, benchmark or checkpoint; `job` may hold wildcards ("{backbone}/{task}").
    Rules with one job per workflow have no `job`: results/logs/heatmap.log."""
    if not job:
        return template.replace("/{job}", "").format(rule=rule)
    return template.replace("{rule}", rule).replace("{job}", job)
