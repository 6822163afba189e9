"""Prompts trained elsewhere as a prompt source: a folder (or ids) in another project's layout,
read into this project's prompt files without training.

A source is a config entry {layout, path, suffix, locations}: `backbones.<b>.prompts` gives a
backbone's task prompts (rule import_prompt writes layout.PROMPT from it instead of
train_prompt), and a set of `indicators.external_prompts` may name one for model-free
indicators. Each layout is one entry of LAYOUTS: where a task's prompt is (`locate`) and which
local files that reads (`files`); how it is read is prompt_import.READERS (jobs only). Adding a
layout is one LAYOUTS entry, one reader and one value of the schema's `prompt_source.layout` enum.

Light on purpose: the workflow locates files while it plans the DAG, and job specs (specs.py)
import it, so every job's code version (code_version.py) includes this module and, through it,
only errors.py and study.py of the package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from .errors import ConfigError
from .study import Study


@dataclass(frozen=True)
class Layout:
    locate: Callable[[dict, str], str]  # (source entry, task) -> the location its reader takes
    # location -> the local files it reads: checked before any job runs, and inputs of the jobs
    # (none for ids a reader fetches itself)
    files: Callable[[str], list[str]]


# --- su2022: Su et al. (NAACL 2022), thunlp/Prompt-Transferability, task_prompt_emb/ ----------------


def _folder_key(name: str) -> str:
    """The authors' task folders are this project's names without '_', in their own case
    (SST2, tweetevalsentiment, ethicsdeontology)."""
    return name.replace("_", "").lower()


def su2022_locate(source: dict, task: str) -> str:
    """<path>/<Task><suffix>/task_prompt, the task folder matched to `task` case-insensitively
    and without '_' (or the folder `locations` names)."""
    root, suffix = source["path"], source["suffix"]
    folder = source["locations"].get(task)
    if folder is None:
        matches = [
            f[: -len(suffix)]
            for f in _listdir(root)
            if f.endswith(suffix) and _folder_key(f[: -len(suffix)]) == _folder_key(task)
        ]
        if len(matches) != 1:
            found = "no folder" if not matches else f"folders {', '.join(sorted(matches))}"
            raise ConfigError(
                f"{root}: {found} <Task>{suffix} for task {task!r} (name it under locations: {{{task}: <Task>}})"
            )
        (folder,) = matches
    return os.path.join(root, folder + suffix, "task_prompt")


def _listdir(root: str) -> list[str]:
    try:
        return os.listdir(root)
    except OSError as e:
        raise ConfigError(f"cannot read the folder {root} ({e.strerror})") from None


# --- peft: HF PEFT prompt-tuning adapters (adapter_config.json + adapter_model.safetensors) ---------


def peft_locate(source: dict, task: str) -> str:
    """The adapter of `task`: `locations` names a folder or a hub id (owner/name), else the
    folder <path>/<task>, as the workflow's own export writes them (results/peft/<backbone>/)."""
    location = source["locations"].get(task)
    if location is None and source.get("path") is None:
        raise ConfigError(f"no PEFT adapter for task {task!r}: name it under locations, or give path")
    return location or os.path.join(source["path"], task)


ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def is_hub_id(path_or_id) -> bool:
    """An owner/name that is no local path: an adapter the reader fetches from the HF hub."""
    text = str(path_or_id)
    return not os.path.exists(text) and text.count("/") == 1 and not text.startswith((".", "/"))


def peft_files(location: str) -> list[str]:
    """A local adapter folder's files; none for a hub id, which the reader downloads."""
    return [] if is_hub_id(location) else [os.path.join(location, f) for f in (ADAPTER_CONFIG, ADAPTER_WEIGHTS)]


LAYOUTS = {
    "su2022": Layout(su2022_locate, files=lambda location: [location]),
    "peft": Layout(peft_locate, files=peft_files),
}


# --- sources in the config --------------------------------------------------------------------


def backbone_source(study: Study, backbone: str) -> dict | None:
    """The prompt source of `backbone` (config backbones.<b>.prompts), or None: trained here."""
    return study.backbone(backbone).prompts


def imported_backbones(study: Study) -> list[str]:
    return [b for b in study.all_backbones if backbone_source(study, b)]


def trained_backbones(study: Study) -> list[str]:
    return [b for b in study.all_backbones if not backbone_source(study, b)]


def seeds(study: Study, backbone: str) -> list[int]:
    """The training seeds of `backbone`: study.seeds, or the first of them for a backbone whose
    prompts come from a source (one prompt per task, whatever seed trained it)."""
    return study.seeds[:1] if backbone_source(study, backbone) else list(study.seeds)


def locate(source: dict, task: str) -> str:
    return LAYOUTS[source["layout"]].locate(source, task)


def input_files(source: dict, task: str) -> list[str]:
    """The files a job reads for `task`'s prompt (none for ids a reader fetches itself)."""
    return LAYOUTS[source["layout"]].files(locate(source, task))


def check(study: Study) -> None:
    """Before any job: every study task of an imported study backbone, and every task of a
    source-backed external prompt set, has its file. ConfigError names the key and the file."""
    problems = []
    imported = [b for b in study.backbones if backbone_source(study, b)]
    wanted = [(f"backbones.{b}.prompts", backbone_source(study, b), study.tasks) for b in imported]
    for name, entry in study.indicators["external_prompts"].items():
        if "source" in entry:
            wanted.append((f"indicators.external_prompts.{name}.source", entry["source"], set_tasks(study, name)))
    for key, source, tasks in wanted:
        for task in tasks:
            try:
                for path in input_files(source, task):
                    if not os.path.isfile(path):
                        problems.append(f"{key}: no prompt for task {task!r}: {path} does not exist")
            except ConfigError as e:
                problems.append(f"{key}: {e}")
    if problems:  # a missing folder is one problem, not one per task
        raise ConfigError("invalid configuration:\n" + "\n".join(f"  {p}" for p in dict.fromkeys(problems)))


def set_tasks(study: Study, prompt_set: str) -> list[str]:
    """The prompts of an external set: its files by name, or its source's tasks (default study.tasks)."""
    entry = study.indicators["external_prompts"][prompt_set]
    if "source" in entry:
        return entry["tasks"] or study.tasks
    return list(entry["prompts"])


def set_locations(study: Study, prompt_set: str) -> dict[str, str]:
    """name -> location of every prompt of an external set."""
    entry = study.indicators["external_prompts"][prompt_set]
    if "source" in entry:
        return {t: locate(entry["source"], t) for t in set_tasks(study, prompt_set)}
    return {name: p["path"] for name, p in entry["prompts"].items()}


def set_input_files(study: Study, prompt_set: str) -> list[str]:
    """The files the indicators job of an external set reads."""
    entry = study.indicators["external_prompts"][prompt_set]
    if "source" in entry and not LAYOUTS[entry["source"]["layout"]].files:
        return []
    return list(set_locations(study, prompt_set).values())
