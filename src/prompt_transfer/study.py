"""The validated config, typed: the study, and the registry's tasks and backbones it plans from.

config.load_study builds one `Study` from the dict that config.load_config validated and filled
with defaults; the planning layer (the rules, the spec builders of specs.py, the stages' checks)
reads it instead of the dict. A registry entry's keys are its fields (the schema allows no
others); the settings sections stay mappings, read-only, as the schema defines them. Nested
values are the validated config's own (plain dicts and lists, as job specs hold them): not to
be edited.

Free of torch and of the rest of the package: the workflow types its config while it plans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class TaskConfig:
    """One registry task (config tasks.<name>)."""

    name: str
    type: str
    labels: list[str]  # empty for a generation task
    label_words: dict[str, list]  # per scorer family; empty for a generation task
    pair: bool  # every row has a second text (text_b)
    templates: dict[str, str] = field(default_factory=dict)  # per scorer family, and "default"
    hub: dict | None = None  # the HF hub source
    local: str | None = None  # folder under data_dir (None: the task's name)
    generation: dict | None = None  # {metric, max_new_tokens, ...}: the task writes text
    target_tokens: int | None = None
    truncation: str | None = None
    data: dict = field(default_factory=dict)  # overrides of the data section
    training: dict = field(default_factory=dict)  # overrides of the training section
    description: str | None = None

    @property
    def generates(self) -> bool:
        """A generation task: its prompts make the backbone write text."""
        return self.generation is not None


@dataclass(frozen=True)
class BackboneConfig:
    """One registry backbone (config backbones.<name>)."""

    name: str
    scorer: str  # the scorer family (families.py)
    source: dict  # exactly one of hub, path, pypi, tiny
    dtype: str = "float32"
    scorer_options: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)  # overrides of the training section
    licence: str | None = None
    revision: str | None = None  # hub sources: the branch, tag or commit
    prompts: dict | None = None  # a prompt source: its task prompts are read, not trained
    reference: dict | None = None  # a published table its matrix is compared with
    description: str | None = None


@dataclass(frozen=True)
class Study:
    """The whole validated config: the study's tasks, backbones and seeds, every registry entry,
    and the settings sections."""

    tasks: list[str]  # study.tasks, in order
    backbones: list[str]  # study.backbones, in order
    seeds: list[int]  # study.seeds
    all_tasks: Mapping[str, TaskConfig]  # the registry's, the study's among them
    all_backbones: Mapping[str, BackboneConfig]
    data_dir: str | None
    models_dir: str
    checkpoint_interval: int
    downloads_on_nodes: bool
    data: Mapping  # sampling defaults
    training: Mapping  # prompt-tuning defaults
    evaluation: Mapping
    tpt: Mapping
    neurons: Mapping
    indicators: Mapping
    projector: Mapping
    resources: Mapping

    @classmethod
    def from_config(cls, config: dict) -> Study:
        """The typed view of a config that config.load_config returned (no checks of its own)."""
        sections = ("data", "training", "evaluation", "tpt", "neurons", "indicators", "projector", "resources")
        return cls(
            tasks=config["study"]["tasks"],
            backbones=config["study"]["backbones"],
            seeds=config["study"]["seeds"],
            all_tasks=MappingProxyType({name: TaskConfig(name, **entry) for name, entry in config["tasks"].items()}),
            all_backbones=MappingProxyType(
                {name: BackboneConfig(name, **entry) for name, entry in config["backbones"].items()}
            ),
            data_dir=config["data_dir"],
            models_dir=config["models_dir"],
            checkpoint_interval=config["checkpoint_interval"],
            downloads_on_nodes=config["downloads_on_nodes"],
            **{name: MappingProxyType(config[name]) for name in sections},
        )

    def task(self, name: str) -> TaskConfig:
        return self.all_tasks[name]

    def backbone(self, name: str) -> BackboneConfig:
        return self.all_backbones[name]
