"""Where every result lives: the one place the results layout is spelled.

Each path is a template whose fields are the rules' wildcards, so a rule names its output as
`layout.PROMPT` and the package fills the same template with `.format(...)`. Paths are relative
to the working directory Snakemake runs in. One file per unit of work, so Snakemake re-runs
exactly what changed.
"""

# data and backbones
DATA_DIR = "results/data/{task}"
SPLIT = "results/data/{task}/{split}.jsonl"
DATA_META = "results/data/{task}/meta.json"
MODEL_DIR = "{models_dir}/{backbone}"  # config models_dir (default results/models)
MODEL = "{models_dir}/{backbone}/model.json"  # manifest naming the HF folder jobs load

# prompt tuning
PROMPT = "results/prompts/{backbone}/{task}.safetensors"
TRAIN_LOG = "results/prompts/{backbone}/{task}.log.csv"
TRAIN_METRICS = "results/prompts/{backbone}/{task}.metrics.json"

# zero-shot transfer
TRANSFER = "results/transfer/{backbone}/{source}__{target}.json"
BASELINES = "results/transfer/{backbone}/baselines/{target}.json"
MATRIX = "results/transfer/{backbone}/matrix.csv"
SUMMARY = "results/transfer/{backbone}/summary.csv"
TYPE_DIFFERENCE = "results/transfer/{backbone}/type_difference.csv"
HEATMAP = "results/heatmap.pdf"
PAPER_COMPARISON = "results/paper_comparison/{backbone}.csv"  # against a published table
PAPER_COMPARISON_FIGURE = "results/paper_comparison/{backbone}.pdf"

# transferable prompt tuning: {init} is a task, or a projected prompt's source@from.objective.taskset
TPT_LOG = "results/tpt/{backbone}/{init}__{target}.csv"
TPT_PROMPT = "results/tpt/{backbone}/{init}__{target}.safetensors"
TPT_METRICS = "results/tpt/{backbone}/{init}__{target}.metrics.json"
TPT_TOP_K = "results/tpt/{backbone}/top_k.csv"
TPT_SPEEDUP = "results/tpt/{backbone}/speedup.csv"
TPT_SUMMARY = "results/tpt/{backbone}/summary.csv"
TPT_CURVES = "results/tpt_curves.pdf"

# cross-model transfer
PROJECTOR = "results/projectors/{source_model}__{target_model}/{objective}__{taskset}.safetensors"
PROJECTOR_LOG = "results/projectors/{source_model}__{target_model}/{objective}__{taskset}.log.csv"
PROJECTED = "results/projectors/{source_model}__{target_model}/projected/{objective}__{taskset}/{task}.safetensors"
CROSS_MODEL_SCORE = "results/cross_model/{source_model}__{target_model}/{objective}__{taskset}/{task}.json"
CROSS_MODEL_TABLE = "results/cross_model/{source_model}__{target_model}.csv"
CROSS_MODEL_FIGURE = "results/cross_model.pdf"

# neurons and indicators
NEURONS = "results/neurons/{backbone}/{task}.safetensors"
MASKING = "results/neurons/{backbone}/masking/{task}.json"
MASKING_TABLE = "results/neurons/{backbone}/masking.csv"
INDICATORS = "results/indicators/{backbone}/indicators.csv"
SPEARMAN = "results/indicators/{backbone}/spearman.csv"
RETRIEVAL = "results/indicators/{backbone}/retrieval.csv"
EXTERNAL_INDICATORS = "results/indicators/external/{prompt_set}/indicators.csv"
INDICATOR_FIGURE = "results/indicators.pdf"

# prompts to take away: PEFT adapter folders and the prompt bank
PEFT_ADAPTER = (
    "results/peft/{backbone}/{task}"  # folder: adapter_config.json, adapter_model.safetensors, prompt_transfer.json
)
TPT_PEFT_ADAPTER = "results/peft/{backbone}/tpt/{init}__{target}"
BANK_ENTRY = "results/bank/{backbone}/{task}.json"
BANK_INDEX = "results/bank/index.csv"

# bookkeeping of jobs: {job} is the job's wildcards joined by "/" (see job_path)
BENCHMARKS = "results/benchmarks.csv"
LOG = "results/logs/{rule}/{job}.log"
BENCHMARK = "results/benchmarks/{rule}/{job}.tsv"
CHECKPOINT = "results/checkpoints/{rule}/{job}.safetensors"


def job_path(template: str, rule: str, job: str = "") -> str:
    """A rule's log, benchmark or checkpoint; `job` may hold wildcards ("{backbone}/{task}").
    Rules with one job per workflow have no `job`: results/logs/heatmap.log."""
    if not job:
        return template.replace("/{job}", "").format(rule=rule)
    return template.replace("{rule}", rule).replace("{job}", job)
