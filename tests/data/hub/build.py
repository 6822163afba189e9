"""Write the local copies of the registry's hub datasets (tests/data/hub/<owner>/<name>/).

Each copy has the hub repository's layout and schema (configs, split names, columns, feature
types, ClassLabel names in the hub's order) as README.md in this folder documents, with a few
rows per split. Every text names its column, split, row and hub label ("<premise validation_matched
1 neutral> ..."), so a test can tell where a prepared row came from; the rest of the text is real
(tests/data/sample) where the bundle has the task. Run it again after editing a schema:
    python tests/data/hub/build.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import yaml
from datasets import ClassLabel, Features, Sequence, Value

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample"
ROWS = 6  # per labelled split, cycling through the labels (a fifth of train is held out as dev)
S = Value("string")


def glue(text_columns, names):
    return Features({**{c: S for c in text_columns}, "label": ClassLabel(names=names), "idx": Value("int32")})


def setfit_absa(task: str) -> dict:
    """The SetFit ABSA sets of SemEval-2014 (laptops, restaurants): one schema, string labels."""
    return {
        "layout": "card",
        "data_dir": "data",
        "configs": {
            "default": (
                Features({"text": S, "span": S, "label": S, "ordinal": Value("int64")}),
                ["train", "test"],
                task,
            )
        },
        "string_labels": ["negative", "neutral", "positive", "conflict"],
    }


# owner/name[@revision] -> layout ("card": README configs + dataset_info; "export": the parquet
# export branch, no README, files as `files` writes them; "script": a loading script only),
# configs: {config: (features, splits, sample task)}; `default_config`: the config the card marks
# `default: true`. A split in `unlabelled` holds label -1 only (GLUE's test splits, IMDB's unsupervised).
DATASETS = {
    "nyu-mll/glue": {
        "layout": "card",
        "configs": {
            "sst2": (glue(["sentence"], ["negative", "positive"]), ["train", "validation", "test"], "sst2"),
            "mnli": (
                glue(["premise", "hypothesis"], ["entailment", "neutral", "contradiction"]),
                ["train", "validation_matched", "validation_mismatched", "test_matched", "test_mismatched"],
                "mnli",
            ),
            "qnli": (
                glue(["question", "sentence"], ["entailment", "not_entailment"]),
                ["train", "validation", "test"],
                "qnli",
            ),
            "qqp": (
                glue(["question1", "question2"], ["not_duplicate", "duplicate"]),
                ["train", "validation", "test"],
                "qqp",
            ),
            "mrpc": (
                glue(["sentence1", "sentence2"], ["not_equivalent", "equivalent"]),
                ["train", "validation", "test"],
                "mrpc",
            ),
        },
        "unlabelled": {"test", "test_matched", "test_mismatched"},
    },
    "stanfordnlp/snli": {
        "layout": "card",
        "configs": {
            "plain_text": (
                Features(
                    {
                        "premise": S,
                        "hypothesis": S,
                        "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
                    }
                ),
                ["test", "validation", "train"],
                "snli",
            )
        },
        "no_gold": True,  # a row of label -1 (no gold label) in every split
    },
    "stanfordnlp/imdb": {
        "layout": "card",
        "configs": {
            "plain_text": (
                Features({"text": S, "label": ClassLabel(names=["neg", "pos"])}),
                ["train", "test", "unsupervised"],
                "imdb",
            )
        },
        "unlabelled": {"unsupervised"},
    },
    "tomaarsen/setfit-absa-semeval-laptops": setfit_absa("laptop"),
    "tomaarsen/setfit-absa-semeval-restaurants": setfit_absa("restaurant"),
    # main holds a loading script (the hub page: "the viewer is disabled because this dataset repo
    # requires arbitrary Python code execution"); the parquet export is what datasets 4+ reads.
    "eraser-benchmark/movie_rationales": {"layout": "script", "script": "movie_rationales.py"},
    "eraser-benchmark/movie_rationales@refs/convert/parquet": {
        "layout": "export",
        "files": "{config}/{split}/0000.parquet",
        "configs": {
            "default": (
                Features({"review": S, "label": ClassLabel(names=["NEG", "POS"]), "evidences": Sequence(S)}),
                ["test", "train", "validation"],
                "movierationales",
            )
        },
    },
    "cardiffnlp/tweet_eval": {
        "layout": "card",
        "configs": {
            "sentiment": (
                Features({"text": S, "label": ClassLabel(names=["negative", "neutral", "positive"])}),
                ["train", "test", "validation"],
                "tweeteval_sentiment",
            )
        },
    },
    # the export commit whose tree lists deontology/ethics-{train,validation,test}.parquet
    "hendrycks/ethics@f402b368b0a007382bf70aa4c976d8f736a8854a": {
        "layout": "export",
        "files": "{config}/ethics-{split}.parquet",
        "configs": {
            "deontology": (
                Features({"label": Value("int64"), "scenario": S, "excuse": S}),
                ["train", "validation", "test"],
                "ethics_deontology",
            ),
            "justice": (
                Features({"label": Value("int64"), "scenario": S}),
                ["train", "validation", "test"],
                "ethics_justice",
            ),
        },
        "int_labels": ["0", "1"],  # plain integers; the registry names them (hub.label_names)
    },
    "rajpurkar/squad": {
        "layout": "card",
        "configs": {
            "plain_text": (
                Features(
                    {
                        "id": S,
                        "title": S,
                        "context": S,
                        "question": S,
                        "answers": Sequence({"text": S, "answer_start": Value("int32")}),
                    }
                ),
                ["train", "validation"],
                None,
            )
        },
        "default_config": "plain_text",
    },
    "google-research-datasets/nq_open": {
        "layout": "card",
        "configs": {"nq_open": (Features({"question": S, "answer": Sequence(S)}), ["train", "validation"], "nq_open")},
    },
    "alexfabbri/multi_news": {"layout": "script", "script": "multi_news.py"},
    "alexfabbri/multi_news@refs/convert/parquet": {
        "layout": "export",
        "files": "{config}/{split}/0000.parquet",
        "configs": {"default": (Features({"document": S, "summary": S}), ["train", "validation", "test"], None)},
    },
    "Samsung/samsum": {
        "layout": "card",
        "configs": {
            "samsum": (Features({"id": S, "dialogue": S, "summary": S}), ["train", "test", "validation"], "samsum")
        },
    },
    "Samsung/samsum@refs/convert/parquet": {
        "layout": "export",
        "files": "{config}/{split}/0000.parquet",
        "configs": {
            "samsum": (Features({"id": S, "dialogue": S, "summary": S}), ["train", "test", "validation"], "samsum")
        },
    },
}


def sample_texts(task: str | None) -> list[str]:
    if task is None or not (SAMPLE / task / "train.jsonl").is_file():
        return ["a short text written for this copy"]
    with open(SAMPLE / task / "train.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for _, line in zip(range(ROWS * 2), f)]
    return [" ".join((r.get("text_a") or "").split()[:12]) for r in rows]


def label_values(spec: dict, features: Features) -> list:
    """The label column's values a row cycles through, and the hub label name of each."""
    if "string_labels" in spec:
        return [(name, name) for name in spec["string_labels"]]
    if "int_labels" in spec:
        return [(i, name) for i, name in enumerate(spec["int_labels"])]
    if "label" in features:
        return [(i, name) for i, name in enumerate(features["label"].names)]
    return [(None, "-")]


def make_rows(spec: dict, config: str, features: Features, split: str, task: str | None) -> dict:
    texts = sample_texts(task)
    values = label_values(spec, features)
    if split in spec.get("unlabelled", ()):
        values = [(-1, "-1")]
    cases = [values[i % len(values)] for i in range(ROWS)]
    if spec.get("no_gold"):
        cases.append((-1, "-1"))
    columns = {name: [] for name in features}
    for i, (value, hub_name) in enumerate(cases):
        for name, feature in features.items():
            marker = f"<{name} {split} {i} {hub_name}>"
            if name == "label":
                columns[name].append(value)
            elif name in ("idx", "ordinal"):
                columns[name].append(i)
            elif name == "answers":  # SQuAD: every gold answer, with its offset
                columns[name].append({"text": [f"{marker} gold", f"{marker} other"], "answer_start": [0, 3]})
            elif isinstance(feature, Sequence):
                columns[name].append([f"{marker} {texts[i % len(texts)]}"])
            else:
                columns[name].append(f"{marker} {texts[i % len(texts)]}")
    return columns


def card(repo: str, spec: dict, counts: dict) -> str:
    data_dir = spec.get("data_dir")
    infos, configs = [], []
    for config, (features, splits, _) in spec["configs"].items():
        infos.append(
            {
                "config_name": config,
                "features": features._to_yaml_list(),
                "splits": [{"name": s, "num_examples": counts[config, s]} for s in splits],
            }
        )
        folder = data_dir or config
        entry = {"config_name": config, "data_files": [{"split": s, "path": f"{folder}/{s}-*"} for s in splits]}
        if config == spec.get("default_config"):
            entry["default"] = True
        configs.append(entry)
    head = yaml.safe_dump({"dataset_info": infos, "configs": configs}, sort_keys=False)
    return f"---\n{head}---\n\nA local copy of {repo} in the hub's schema for the workflow's tests (../README.md).\n"


def folder(repo_at_revision: str) -> Path:
    """The copy of `owner/name[@revision]`: a revision's slashes become "--" (one folder)."""
    repo, _, revision = repo_at_revision.partition("@")
    return HERE / (f"{repo}@{revision.replace('/', '--')}" if revision else repo)


def build(repo: str, spec: dict) -> None:
    root = folder(repo)
    shutil.rmtree(root, ignore_errors=True)
    if spec["layout"] == "script":  # datasets refuses a repository with a loading script
        root.mkdir(parents=True)
        (root / spec["script"]).write_text("# stands for the hub's loading script\n", encoding="utf-8")
        return
    counts = {}
    for config, (features, splits, task) in spec["configs"].items():
        for split in splits:
            table = datasets.Dataset.from_dict(make_rows(spec, config, features, split, task), features=features)
            counts[config, split] = len(table)
            if spec["layout"] == "card":
                name = f"{spec.get('data_dir') or config}/{split}-00000-of-00001.parquet"
            else:
                name = spec["files"].format(config=config, split=split)
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            table.to_parquet(root / name)
    if spec["layout"] == "card":
        (root / "README.md").write_text(card(repo, spec, counts), encoding="utf-8")


if __name__ == "__main__":
    for entry in HERE.glob("*/*"):
        if entry.is_dir():
            shutil.rmtree(entry)
    for repo, spec in DATASETS.items():
        build(repo, spec)
        print(repo)
