"""The hub path on the hub's own schemas: every hub dataset of the registry, loaded from a local
copy in its hub layout (tests/data/hub, README.md there names each schema's source) through the
workflow's own loading code; hub backbones from a pre-filled HF cache; the revision resolved
recorded in the task's meta.json and the backbone's model.json; the same data with the hub off."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from prompt_transfer import data, specs
from prompt_transfer.config import load_config
from prompt_transfer.errors import DataError
from prompt_transfer.io import read_json
from prompt_transfer.study import Study

REPO = Path(__file__).resolve().parent.parent
HUB_COPIES = REPO / "tests" / "data" / "hub"
COPY_COMMIT = "c0" * 20  # the commit the stand-in hub serves for a branch or the main branch
MARKER = re.compile(r"^<(\S+) (\S+) (\d+) (\S+)> ")

# The meaning of each hub label in the paper's RoBERTa verbalizer (mlm words): catches a
# registry whose labels or label words are in another order than the hub's.
MLM_WORD_OF_HUB_LABEL = {
    "imdb": {"neg": "negative", "pos": "positive"},
    "sst2": {"negative": "negative", "positive": "positive"},
    "laptop": {"negative": "negative", "neutral": "moderate", "positive": "positive", "conflict": "conflict"},
    "restaurant": {"negative": "negative", "neutral": "moderate", "positive": "positive", "conflict": "conflict"},
    "movierationales": {"NEG": "negative", "POS": "positive"},
    "tweeteval_sentiment": {"negative": "negative", "neutral": "moderate", "positive": "positive"},
    "mnli": {"entailment": "yes", "neutral": "neutral", "contradiction": "no"},
    "snli": {"entailment": "yes", "neutral": "neutral", "contradiction": "no"},
    "qnli": {"entailment": "yes", "not_entailment": "no"},
    # ETHICS's label 1: the excuse is reasonable / the statement is just (hendrycks/ethics README)
    "ethics_deontology": {"0": "unacceptable", "1": "acceptable"},
    "ethics_justice": {"0": "unacceptable", "1": "acceptable"},
    "qqp": {"not_duplicate": "false", "duplicate": "true"},
    "mrpc": {"not_equivalent": "false", "equivalent": "true"},
}


def registry() -> Study:
    with open(REPO / "config.yaml", encoding="utf-8") as f:
        return Study.from_config(load_config(yaml.safe_load(f)))


CONFIG = registry()
HUB_TASKS = sorted(name for name, task in CONFIG.all_tasks.items() if task.hub is not None)


def copy_of(path: str, revision: str | None) -> Path:
    """The local copy of a hub repository at a revision (tests/data/hub/build.py writes them)."""
    return HUB_COPIES / (f"{path}@{revision.replace('/', '--')}" if revision else path)


@pytest.fixture
def hub_copies(monkeypatch, tmp_path):
    """load_dataset_builder with the hub id replaced by its local copy at the revision asked
    for (nothing else changed); the copy stands in for the hub, serving a pinned commit as that
    commit and a branch as COPY_COMMIT."""
    import datasets

    real = datasets.load_dataset_builder
    calls = []

    def from_copy(path, name=None, **kwargs):
        calls.append((path, name, kwargs))
        revision = kwargs.get("revision")
        if not copy_of(path, revision).is_dir():
            raise datasets.exceptions.DatasetNotFoundError(f"Revision '{revision}' doesn't exist for dataset '{path}'")
        builder = real(str(copy_of(path, revision)), name, cache_dir=str(tmp_path / "cache"), **kwargs)
        builder.hash = revision if revision and re.fullmatch(r"[0-9a-f]{40}", revision) else COPY_COMMIT
        return builder

    monkeypatch.setattr(datasets, "load_dataset_builder", from_copy)
    return calls


def prepare(task: str, out: Path) -> dict:
    """The task prepared as rule prepare_data does, keeping every row of the copy."""
    job = specs.data_job(CONFIG, task)
    sampling = specs.Sampling(train_size=None, dev_size=1, validation_size=None, seed=0)
    return data.prepare_task_data(dataclasses.replace(job, sampling=sampling), out)


def origin(text: str, column: str) -> tuple[str, int, str]:
    """(hub split, row, hub label) that the copy wrote into a text of `column`."""
    found = MARKER.match(text)
    assert found and found[1] == column, f"{text!r} is not from column {column!r}"
    return found[2], int(found[3]), found[4]


@pytest.mark.parametrize("task", HUB_TASKS)
def test_a_hub_task_prepares_from_the_hub_schema(task, hub_copies, tmp_path):
    hub = CONFIG.task(task).hub
    meta = prepare(task, tmp_path / "out")
    ((path, name, kwargs),) = hub_copies  # one builder for both splits
    assert (path, name, kwargs["revision"], kwargs["data_files"]) == (
        hub["path"], hub["name"], hub.get("revision"), hub.get("data_files")
    )  # fmt: skip
    assert meta["source"]["commit"] == (hub.get("revision") if len(hub.get("revision") or "") == 40 else COPY_COMMIT)
    generation = CONFIG.task(task).generates
    labels = CONFIG.task(task).labels
    seen = set()
    for split, hub_split in (("train", "train"), ("dev", "train"), ("validation", hub["splits"]["validation"])):
        hub_split = hub["splits"]["train"] if split != "validation" else hub_split
        rows = data.read_split(tmp_path / "out", split)
        assert rows, f"{task}: no {split} rows"
        for row in rows:
            where, i, hub_label = origin(row["text_a"], hub["text_a"])
            assert where == hub_split
            if hub["text_b"]:
                assert origin(row["text_b"], hub["text_b"])[:2] == (where, i)
            else:
                assert row["text_b"] is None
            if generation:  # generation: every reference, the first one the target
                references = row["answers"]
                assert references and all(origin(a, hub["answers"].split(".")[0])[:2] == (where, i) for a in references)
                assert row["target"] == references[0]
                continue
            assert hub_label != "-1", "an unlabelled row was kept"
            expected = hub["label_names"][int(hub_label)] if hub["label_names"] else hub_label
            assert labels[row["label"]] == expected
            mlm_words = specs.task(CONFIG, task, "mlm").label_words
            assert mlm_words[row["label"]] == MLM_WORD_OF_HUB_LABEL[task][hub_label]
            seen.add(hub_label)
    if not generation:
        assert seen == set(MLM_WORD_OF_HUB_LABEL[task]), f"{task}: labels never prepared: {set(labels) - seen}"


def test_every_hub_dataset_of_the_registry_has_a_copy():
    ids = {CONFIG.task(t).hub["path"] for t in HUB_TASKS}
    assert len(ids) == 12
    for task in HUB_TASKS:
        hub = CONFIG.task(task).hub
        assert copy_of(hub["path"], hub.get("revision")).is_dir(), task


def test_study_files_read_the_registry_hub_sources():
    """The paper's studies use the hub sources tested above (their splits included); a study may
    only pin them (docs/hub.md)."""
    with open(REPO / "config.yaml", encoding="utf-8") as f:
        base = yaml.safe_load(f)
    for study in sorted((REPO / "studies").glob("*.yaml")):
        with open(study, encoding="utf-8") as f:
            layer = yaml.safe_load(f)
        for task, entry in (layer.get("tasks") or {}).items():
            assert set((entry or {}).get("hub", {})) <= {"revision"}, f"{study.name}: {task}"


def test_a_config_name_on_the_parquet_export_is_named_in_one_line(hub_copies, tmp_path):
    """The export's per-config folders are no configs datasets reads (the registry's former
    ETHICS entry): one line naming the source, no partial output."""
    hub = {**CONFIG.task("ethics_justice").hub, "name": "justice", "data_files": None}
    hub["splits"] = {"train": "train", "validation": "validation"}
    job = dataclasses.replace(specs.data_job(CONFIG, "ethics_justice"), hub=hub)
    with pytest.raises(
        DataError, match=r"^task ethics_justice: hendrycks/ethics\[justice\]: cannot load it .*'justice'"
    ):
        data.prepare_task_data(job, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_split_names_the_splits_there(hub_copies, tmp_path):
    hub = {**CONFIG.task("mnli").hub, "splits": {"train": "train", "validation": "validation"}}
    job = dataclasses.replace(specs.data_job(CONFIG, "mnli"), hub=hub)
    with pytest.raises(
        DataError, match=r"no split 'validation' \(the source has \['test_matched', .*'validation_matched'"
    ):
        data.prepare_task_data(job, tmp_path / "out")


def test_an_offline_copy_at_another_commit_than_the_pin_is_refused(monkeypatch, hub_copies, tmp_path):
    import datasets

    real = datasets.load_dataset_builder

    def cached_elsewhere(path, name=None, **kwargs):
        builder = real(path, name, **kwargs)
        builder.hash = "d1" * 20
        return builder

    monkeypatch.setattr(datasets, "load_dataset_builder", cached_elsewhere)
    with pytest.raises(DataError, match=r"cached copy is at commit d1d1.*not the pinned revision f402b368"):
        prepare("ethics_deontology", tmp_path / "out")


def fill_hub_cache(cache: Path, repo_id: str, commit: str, family: str) -> None:
    """A tiny random model in the HF cache's layout (models--owner--name/refs, snapshots/<commit>),
    as a machine that downloaded it once leaves it."""
    from prompt_transfer.backbones import build_tiny_model, build_tiny_tokenizer

    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    tokenizer = build_tiny_tokenizer(["good", "bad", "movie"], family)
    build_tiny_model(family, len(tokenizer)).save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)


def run_offline(code: str, hf_home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env["PYTHONPATH"] = str(REPO / "src")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_a_hub_backbone_materialises_from_a_prefilled_cache_with_the_hub_off(tmp_path):
    commit = "be" * 20
    fill_hub_cache(tmp_path / "hf" / "hub", "someone/tiny-bert", commit, "mlm")
    code = f"""
from prompt_transfer import backbones, specs
for name, revision in (("main", None), ("pinned", "{commit}")):
    spec = specs.Backbone(name, "mlm", {{"hub": "someone/tiny-bert"}}, revision=revision)
    backbones.materialize(spec, "{tmp_path}/models/" + name)
"""
    done = run_offline(code, tmp_path / "hf")
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("main", "pinned"):
        manifest = read_json(tmp_path / "models" / name / "model.json")
        assert manifest["commit"] == commit and manifest["path"] == "hf"
        assert manifest["revision"] == (commit if name == "pinned" else None)
        folder = tmp_path / "models" / name / "hf"
        assert not any(p.is_symlink() for p in folder.iterdir())  # a copy, not links into the cache
    from prompt_transfer.backbones import load_backbone

    model, tokenizer = load_backbone(tmp_path / "models" / "pinned" / "model.json", "mlm")
    assert model.config.model_type == "bert" and tokenizer.mask_token == "[MASK]"


def test_a_pinned_backbone_absent_from_the_cache_is_refused_offline(tmp_path):
    fill_hub_cache(tmp_path / "hf" / "hub", "someone/tiny-bert", "be" * 20, "mlm")
    code = f"""
from prompt_transfer import backbones, specs
spec = specs.Backbone("b", "mlm", {{"hub": "someone/tiny-bert"}}, revision="{"ef" * 20}")
backbones.materialize(spec, "{tmp_path}/models/b")
"""
    done = run_offline(code, tmp_path / "hf")
    assert done.returncode != 0 and "someone/tiny-bert" in done.stderr
    assert not (tmp_path / "models" / "b" / "model.json").exists()


def test_a_prefilled_datasets_cache_gives_the_same_data_with_the_hub_off(hub_copies, tmp_path):
    """The datasets cache a machine with hub access leaves (HF_HOME/datasets/<owner>___<name>/
    <config>/<version>/<commit>), here filled from the copy: the task prepares offline from it,
    rows and commit as from the hub."""
    import datasets

    online = prepare("sst2", tmp_path / "online")
    cache = tmp_path / "hf" / "datasets"
    builder = datasets.load.load_dataset_builder(str(copy_of("nyu-mll/glue", None)), "sst2", cache_dir=str(cache))
    builder.download_and_prepare()
    (hash_dir,) = [d for d in (cache / "glue" / "sst2").glob("*/*") if d.is_dir()]
    hash_dir.rename(hash_dir.parent / COPY_COMMIT)  # a hub download's folder is named by its commit
    (cache / "glue").rename(cache / "nyu-mll___glue")
    code = f"""
import dataclasses, json, yaml
from prompt_transfer import data, specs
from prompt_transfer.config import load_config
from prompt_transfer.study import Study
config = Study.from_config(load_config(yaml.safe_load(open("{REPO / "config.yaml"}"))))
sampling = specs.Sampling(train_size=None, dev_size=1, validation_size=None, seed=0)
job = dataclasses.replace(specs.data_job(config, "sst2"), sampling=sampling)
print(json.dumps(data.prepare_task_data(job, "{tmp_path / "offline"}")))
"""
    done = run_offline(code, tmp_path / "hf")
    assert done.returncode == 0, done.stderr[-2000:]
    offline = json.loads(done.stdout.strip().splitlines()[-1])
    assert offline["source"]["commit"] == online["source"]["commit"] == COPY_COMMIT
    for split in ("train", "dev", "validation"):
        assert data.read_split(tmp_path / "offline", split) == data.read_split(tmp_path / "online", split)


def test_the_prompt_bank_index_shows_the_hub_commits(tmp_path):
    """A bank entry's data and backbone commits reach the report's prompt-bank table."""
    from prompt_transfer import bank

    entry = {
        "backbone": "roberta-base",
        "task": "sst2",
        "prompt": {"seed": 0, "shape": [100, 768], "peft_adapter": "a"},
        "metrics": {
            "dev": {"accuracy": 0.9, "best_step": 5},
            "validation": {"accuracy": 0.9, "no_prompt_accuracy": 0.5},
        },
        "run": {"steps_run": 5, "job_wall_seconds": 1.0},
        "environment": {"hardware": {"gpu": None, "cpu": "c"}, "runtime": {"device": "cpu", "precision": "fp32"}},
        "data": {"source": {"kind": "hub", "path": "nyu-mll/glue", "commit": COPY_COMMIT}},
        "backbone_source": {"source": {"hub": "FacebookAI/roberta-base"}, "commit": "be" * 20},
    }
    entry["environment"]["code_version"] = "v"
    (tmp_path / "e.json").write_text(json.dumps(entry))
    bank.bank_index([tmp_path / "e.json"], tmp_path / "index.csv")
    import pandas as pd

    row = pd.read_csv(tmp_path / "index.csv").iloc[0]
    assert (row["data_commit"], row["backbone_commit"]) == (COPY_COMMIT, "be" * 20)
