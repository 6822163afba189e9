"""Task data: local files checked line by line, hub labels matched by name, deterministic samples."""

import dataclasses
import json
import types

import pytest
import yaml
from conftest import REPO

from prompt_transfer import data, specs
from prompt_transfer.config import load_config
from prompt_transfer.data import DataError
from prompt_transfer.specs import DataJob, Sampling
from prompt_transfer.study import Study

SETTINGS = {"train_size": 50, "dev_size": 10, "validation_size": 20, "seed": 0}


def toy_job(data_dir) -> DataJob:
    """The data job of a sentiment task in `data_dir`/toy."""
    return DataJob("toy", "sentiment", ["negative", "positive"], Sampling(**SETTINGS), str(data_dir), local="toy")


def write_task(root, rows_train, rows_validation, labels=("negative", "positive")):
    folder = root / "toy"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.json").write_text(json.dumps({"labels": list(labels)}))
    for split, rows in (("train", rows_train), ("validation", rows_validation)):
        (folder / f"{split}.jsonl").write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows))
    return folder


GOOD = [{"text_a": f"text {i}", "text_b": None, "label": i % 2} for i in range(100)]


def test_real_local_task_loads_with_its_labels(task_data):
    rows = data.load_local(task_data, "mnli", ["entailment", "neutral", "contradiction"])
    for split in ("train", "validation"):  # every line of the sample or of the full data
        assert len(rows[split]) == sum(1 for _ in open(task_data / "mnli" / f"{split}.jsonl"))
    assert {r["label"] for r in rows["validation"]} == {0, 1, 2}
    assert all(r["text_b"] for r in rows["train"][:100])


def test_registry_labels_must_match_the_local_meta(task_data):
    with pytest.raises(DataError, match="differ from the registry"):
        data.load_local(task_data, "mnli", ["contradiction", "neutral", "entailment"])


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ("{not json\n", "train.jsonl:3: not valid JSON"),
        (json.dumps({"text_a": "x", "text_b": None}) + "\n", "train.jsonl:3: no 'label'"),
        (
            json.dumps({"text_a": "x", "text_b": None, "label": 7}) + "\n",
            "train.jsonl:3: label 7 is out of range for 2 labels",
        ),
        (json.dumps({"text_a": "x", "label": "positive"}) + "\n", "train.jsonl:3: label 'positive' is not an integer"),
        (json.dumps({"text_b": "x", "label": 1}) + "\n", "train.jsonl:3: 'text_a' is missing or empty"),
    ],
)
def test_bad_rows_are_named_by_file_and_line(tmp_path, bad_line, message):
    write_task(tmp_path, GOOD[:2] + [bad_line] + GOOD[2:], GOOD)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        data.load_local(tmp_path, "toy", ["negative", "positive"])


def test_an_empty_split_is_refused(tmp_path):
    write_task(tmp_path, GOOD, [])
    with pytest.raises(DataError, match="validation.jsonl: the split is empty"):
        data.load_local(tmp_path, "toy", ["negative", "positive"])


def test_sampling_is_deterministic_and_disjoint():
    rows = {"train": GOOD, "validation": GOOD}
    a, b = data.sample_splits(rows, SETTINGS), data.sample_splits(rows, SETTINGS)
    assert a == b
    assert len(a["train"]) == 50 and len(a["dev"]) == 10 and len(a["validation"]) == 20
    train_texts = {r["text_a"] for r in a["train"]}
    assert not train_texts & {r["text_a"] for r in a["dev"]}
    assert data.sample_splits(rows, {**SETTINGS, "seed": 1}) != a


def test_dev_is_at_most_a_fifth_of_a_small_training_split():
    rows = {"train": GOOD[:20], "validation": GOOD}
    out = data.sample_splits(rows, SETTINGS)
    assert len(out["dev"]) == 4 and len(out["train"]) == 16


def test_prepare_writes_splits_and_meta_atomically(tmp_path):
    write_task(tmp_path / "src", GOOD, GOOD)
    meta = data.prepare_task_data(toy_job(tmp_path / "src"), tmp_path / "out")
    assert meta["sizes"] == {"train": 50, "dev": 10, "validation": 20}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "dev.jsonl",
        "meta.json",
        "train.jsonl",
        "validation.jsonl",
    ]
    assert (
        data.read_split(tmp_path / "out", "dev")
        == data.sample_splits({"train": GOOD, "validation": GOOD}, SETTINGS)["dev"]
    )


def test_a_bad_row_leaves_no_output(tmp_path):
    write_task(tmp_path / "src", GOOD + ['{"text_a": "x", "label": 9}\n'], GOOD)
    with pytest.raises(DataError):
        data.prepare_task_data(toy_job(tmp_path / "src"), tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


class FakeHub:
    """Stands in for datasets.load_dataset_builder with HF-shaped splits, at commit COMMIT."""

    COMMIT = "ab" * 20

    def __init__(self, splits, label_feature):
        import datasets

        self.splits = {
            name: datasets.Dataset.from_list(
                rows,
                features=datasets.Features(
                    {**{k: datasets.Value("string") for k in rows[0] if k != "label"}, "label": label_feature}
                ),
            )
            for name, rows in splits.items()
        }
        self.calls = []
        self.hash = self.COMMIT
        self.info = types.SimpleNamespace(splits=self.splits)

    def __call__(self, path, name=None, revision=None, data_files=None):
        self.calls.append((path, name) + ((revision,) if revision else ()))
        return self

    def download_and_prepare(self):
        pass

    def as_dataset(self, split):
        return self.splits[split]


def test_hub_classlabel_names_map_onto_registry_labels(monkeypatch, task_data):
    """The hub and the local bundle give the same label indices for the same rows (SNLI: -1 dropped)."""
    import datasets

    local = data.load_local(task_data, "snli", ["entailment", "neutral", "contradiction"])
    names = ["entailment", "neutral", "contradiction"]
    hub_rows = [
        {"premise": r["text_a"], "hypothesis": r["text_b"], "label": r["label"]} for r in local["validation"][:30]
    ]
    hub_rows.append({"premise": "p", "hypothesis": "h", "label": -1})
    fake = FakeHub({"train": hub_rows, "validation": hub_rows}, datasets.ClassLabel(names=names))
    monkeypatch.setattr(datasets, "load_dataset_builder", fake)
    hub = {
        "path": "stanfordnlp/snli",
        "name": None,
        "splits": {"train": "train", "validation": "validation"},
        "text_a": "premise",
        "text_b": "hypothesis",
        "label": "label",
        "label_names": None,
    }
    rows, _ = data.load_hub(hub, names)
    assert rows["validation"] == local["validation"][:30]
    assert fake.calls == [("stanfordnlp/snli", None)]


def test_hub_string_labels_and_reordered_names(monkeypatch):
    import datasets

    rows = [
        {"text": "great", "span": "screen", "label": "positive"},
        {"text": "meh", "span": "keys", "label": "conflict"},
    ]
    monkeypatch.setattr(
        datasets, "load_dataset_builder", FakeHub({"train": rows, "test": rows}, datasets.Value("string"))
    )
    hub = {
        "path": "x",
        "name": None,
        "splits": {"train": "train", "validation": "test"},
        "text_a": "text",
        "text_b": "span",
        "label": "label",
        "label_names": None,
    }
    out, _ = data.load_hub(hub, ["negative", "neutral", "positive", "conflict"])
    assert [r["label"] for r in out["validation"]] == [2, 3]
    assert out["train"][0] == {"text_a": "great", "text_b": "screen", "label": 2}

    # integer labels whose hub order differs from ours are matched by name
    rows = [{"text": "a", "label": 0}, {"text": "b", "label": 1}]
    monkeypatch.setattr(
        datasets, "load_dataset_builder", FakeHub({"train": rows, "validation": rows}, datasets.Value("int64"))
    )
    hub = {
        **hub,
        "text_b": None,
        "splits": {"train": "train", "validation": "validation"},
        "label_names": ["reasonable", "unreasonable"],
    }
    out, _ = data.load_hub(hub, ["unreasonable", "reasonable"])
    assert [r["label"] for r in out["train"]] == [1, 0]


def test_hub_label_outside_the_registry_is_named(monkeypatch):
    import datasets

    rows = [{"text": "a", "label": "sarcastic"}]
    monkeypatch.setattr(
        datasets, "load_dataset_builder", FakeHub({"train": rows, "validation": rows}, datasets.Value("string"))
    )
    hub = {
        "path": "x",
        "name": None,
        "splits": {"train": "train", "validation": "validation"},
        "text_a": "text",
        "text_b": None,
        "label": "label",
        "label_names": None,
    }
    with pytest.raises(DataError, match=r"x\[None\]:train row 0: hub label 'sarcastic'"):
        data.load_hub(hub, ["negative", "positive"])


PAIR = [{"text_a": f"premise {i}", "text_b": f"hypothesis {i}", "label": i % 2} for i in range(100)]


@pytest.mark.parametrize(
    "bad_row",
    [
        {"text_a": "premise", "label": 0},
        {"text_a": "premise", "text_b": None, "label": 0},
        {"text_a": "premise", "text_b": "  ", "label": 0},
    ],
)
def test_a_pair_task_row_without_text_b_is_named(tmp_path, bad_row):
    write_task(tmp_path, PAIR[:2] + [bad_row] + PAIR[2:], PAIR)
    with pytest.raises(DataError) as error:
        data.load_local(tmp_path, "toy", ["negative", "positive"], pair_task="mnli")
    assert (
        str(error.value) == f"{tmp_path / 'toy' / 'train.jsonl'}:3: 'text_b' is missing or empty (mnli is a pair task)"
    )


def test_a_pair_task_file_without_any_text_b_is_refused_and_leaves_no_output(tmp_path):
    write_task(tmp_path / "src", GOOD, GOOD)
    job = dataclasses.replace(toy_job(tmp_path / "src"), task="mnli", pair=True)
    with pytest.raises(DataError, match=r"train.jsonl:1: 'text_b' is missing or empty \(mnli is a pair task\)"):
        data.prepare_task_data(job, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_single_text_tasks_accept_rows_with_text_b_null_or_absent(tmp_path):
    write_task(tmp_path, [{"text_a": "x", "label": 0}] + GOOD, GOOD)
    assert len(data.load_local(tmp_path, "toy", ["negative", "positive"])["train"]) == 101


def test_every_real_task_loads_under_its_registry_entry(task_data):
    config = Study.from_config(
        load_config({**yaml.safe_load((REPO / "config.yaml").read_text()), "data_dir": str(task_data)})
    )
    for name in config.tasks:
        job = specs.data_job(config, name)
        rows = data.load_local(task_data, name, job.labels, name if job.pair else None)
        assert all(bool(r["text_b"]) == bool(job.pair) for r in rows["train"][:50]), name


def test_a_hub_row_of_a_pair_task_without_text_b_is_named(monkeypatch):
    import datasets

    rows = [{"premise": "p", "hypothesis": "h", "label": 0}, {"premise": "p", "hypothesis": "", "label": 1}]
    monkeypatch.setattr(
        datasets, "load_dataset_builder", FakeHub({"train": rows, "validation": rows}, datasets.Value("int64"))
    )
    hub = {
        "path": "nyu-mll/glue",
        "name": "mnli",
        "splits": {"train": "train", "validation": "validation"},
        "text_a": "premise",
        "text_b": "hypothesis",
        "label": "label",
        "label_names": None,
    }
    with pytest.raises(DataError) as error:
        data.load_hub(hub, ["entailment", "neutral"], pair_task="mnli")
    assert str(error.value) == "nyu-mll/glue[mnli]:train row 1: 'text_b' is missing or empty (mnli is a pair task)"


def test_an_unreachable_hub_names_the_task_and_the_way_out(monkeypatch, tmp_path):
    import datasets

    def offline(path, name=None, revision=None, data_files=None):
        raise ConnectionError(f"Couldn't reach '{path}' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset_builder", offline)
    hub = {"path": "cardiffnlp/tweet_eval", "name": "sentiment", "splits": {"train": "train"}}
    hub |= {"text_a": "text", "text_b": None, "label": "label", "label_names": None}
    job = DataJob(
        "tweeteval_sentiment", "sentiment", ["negative", "neutral", "positive"], Sampling(**SETTINGS), None, hub
    )
    expected = (
        r"^task tweeteval_sentiment: cardiffnlp/tweet_eval\[sentiment\]: cannot load it from the HF hub "
        r"\(Couldn't reach .*\); without hub access, give the task data in a folder: --config data_dir=<folder>"
    )
    with pytest.raises(DataError, match=expected):
        data.prepare_task_data(job, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_hub_revision_is_passed_and_null_sizes_keep_whole_splits(monkeypatch):
    """A script dataset loads from the hub's parquet export (revision); null sizes keep every row."""
    import datasets

    rows = [{"text": f"t{i}", "label": i % 2} for i in range(50)]
    fake = FakeHub({"train": rows, "validation": rows[:7]}, datasets.ClassLabel(names=["NEG", "POS"]))
    monkeypatch.setattr(datasets, "load_dataset_builder", fake)
    hub = {"path": "m", "name": None, "revision": "refs/convert/parquet", "text_a": "text", "text_b": None,
           "label": "label", "label_names": None, "splits": {"train": "train", "validation": "validation"}}  # fmt: skip
    loaded, _ = data.load_hub(hub, ["NEG", "POS"])
    assert fake.calls == [("m", None, "refs/convert/parquet")]  # one builder for both splits
    out = data.sample_splits(loaded, {"train_size": None, "dev_size": 5, "validation_size": None, "seed": 0})
    assert (len(out["train"]), len(out["dev"]), len(out["validation"])) == (45, 5, 7)
