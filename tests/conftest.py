"""Shared fixtures: paths to the repository and the offline task data, tiny random backbones."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("PROMPT_TRANSFER_DATA", REPO.parent / "shared" / "data")).resolve()
TINY_CONFIG = REPO / "tests" / "config" / "tiny.yaml"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "sst2" / "train.jsonl").is_file():
        pytest.fail(f"offline task data not found at {SHARED_DATA} (set PROMPT_TRANSFER_DATA)")
    return SHARED_DATA


def read_rows(path: Path, n: int) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) == n:
                break
    return rows


@pytest.fixture(scope="session")
def sst2_rows(shared_data) -> list[dict]:
    return read_rows(shared_data / "sst2" / "train.jsonl", 64)


@pytest.fixture(scope="session")
def mnli_rows(shared_data) -> list[dict]:
    return read_rows(shared_data / "mnli" / "train.jsonl", 64)


def prepare_sst2(shared_data: Path, out: Path, train_size: int, dev_size: int, validation_size: int) -> Path:
    """SST-2 sampled into `out` as the data rule does (train/dev/validation.jsonl, meta.json)."""
    from prompt_transfer import data

    entry = {"type": "sentiment", "labels": ["negative", "positive"], "local": "sst2"}
    sizes = {"train_size": train_size, "dev_size": dev_size, "validation_size": validation_size, "seed": 0}
    data.prepare_task_data("sst2", entry, sizes, shared_data, out)
    return out


TINY_LABEL_WORDS = ["negative", "positive", "neutral", "yes", "no", "maybe"]


@pytest.fixture(scope="session")
def tiny_backbones(shared_data):
    """family -> (model, tokenizer): random 2-layer models with a word-level vocabulary."""
    from prompt_transfer.backbones import build_tiny_model, build_tiny_tokenizer, corpus_words
    from prompt_transfer.scorers import FAMILIES

    words = [w for w, _ in corpus_words([shared_data / "sst2" / "train.jsonl"]).most_common(1500)]
    out = {}
    for family in FAMILIES:
        tokenizer = build_tiny_tokenizer(words + TINY_LABEL_WORDS, family)
        model = build_tiny_model(family, len(tokenizer), hidden_size=32, layers=2, heads=2, intermediate_size=64)
        model.requires_grad_(False)
        model.eval()
        out[family] = (model, tokenizer)
    return out


def sentiment_task(name="sst2") -> dict:
    return {"name": name, "type": "sentiment", "labels": ["negative", "positive"], "templates": {}, "label_words": ["negative", "positive"]}


def nli_task() -> dict:
    return {
        "name": "mnli",
        "type": "nli",
        "labels": ["entailment", "neutral", "contradiction"],
        "templates": {},
        "label_words": ["yes", "maybe", "no"],
    }
