"""Task data: load from the HF hub or a local folder, check every row, sample deterministically.

Both sources produce the same row format, {"text_a", "text_b", "label"}, with `label` an index
into the task's registry labels; rows of a generation task carry {"target", "answers"} (the
training target and every reference the metric accepts) instead of a label. Local files are checked line by line so that a bad row is
reported with its file and line; hub labels are matched to ours by name.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from .io import file_sha256, read_json, write_json, write_jsonl
from .errors import DataError, FileFormatError
from .specs import DataJob

SPLITS = ("train", "dev", "validation")


def _check_texts(row, where: str, pair_task: str | None) -> tuple[str, str | None]:
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    text_a = row.get("text_a")
    if not isinstance(text_a, str) or not text_a.strip():
        raise DataError(f"{where}: 'text_a' is missing or empty")
    text_b = row.get("text_b")
    if text_b is not None and not isinstance(text_b, str):
        raise DataError(f"{where}: 'text_b' must be a string or null")
    if pair_task is not None and (text_b is None or not text_b.strip()):
        raise DataError(f"{where}: 'text_b' is missing or empty ({pair_task} is a pair task)")
    return text_a, text_b


def _check_row(row, where: str, n_labels: int, pair_task: str | None = None) -> dict:
    """The row in our format; pair_task names the task when its rows need text_b too."""
    text_a, text_b = _check_texts(row, where, pair_task)
    if "label" not in row or row["label"] is None:
        raise DataError(f"{where}: no 'label'")
    label = row["label"]
    if isinstance(label, bool) or not isinstance(label, int):
        raise DataError(f"{where}: label {label!r} is not an integer")
    if not 0 <= label < n_labels:
        raise DataError(f"{where}: label {label} is out of range for {n_labels} labels")
    return {"text_a": text_a, "text_b": text_b, "label": label}


def _check_generation_row(row, where: str, pair_task: str | None = None) -> dict:
    """A generation task's row: its texts, a non-empty target and the references (answers;
    [target] when absent); target defaults to the first reference."""
    text_a, text_b = _check_texts(row, where, pair_task)
    answers, target = row.get("answers"), row.get("target")
    if answers is None and target is None:
        raise DataError(f"{where}: no 'target' or 'answers' (a generation task's rows carry them instead of a label)")
    if answers is None and isinstance(target, str):
        answers = [target]
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) and a.strip() for a in answers):
        raise DataError(f"{where}: 'answers' must be a non-empty list of non-empty strings")
    if target is None:
        target = answers[0]
    if not isinstance(target, str) or not target.strip():
        raise DataError(f"{where}: 'target' must be a non-empty string")
    return {"text_a": text_a, "text_b": text_b, "target": target, "answers": answers}


def _checker(n_labels: int, pair_task: str | None, generation: bool):
    """The row check of a task: (row, where) -> the row in our format."""
    if generation:
        return lambda row, where: _check_generation_row(row, where, pair_task)
    return lambda row, where: _check_row(row, where, n_labels, pair_task)


def read_local_split(path: Path, n_labels: int, pair_task: str | None = None, generation: bool = False) -> list[dict]:
    """Read one JSONL split, validating every line (generation: rows with target and answers)."""
    check = _checker(n_labels, pair_task, generation)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    rows = []
    with open(path, encoding="utf-8-sig") as f:  # -sig: a leading byte-order mark is not text
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: not valid JSON ({e.msg})") from None
            rows.append(check(row, where))
    if not rows:
        raise DataError(f"{path}: the split is empty")
    return rows


def _meta_labels(meta_path: Path) -> list | None:
    """The labels of a task folder's meta.json, None when it names none."""
    meta = read_json(meta_path)
    labels = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(meta, dict) or not isinstance(labels, (list, type(None))):
        raise FileFormatError(f"{meta_path}: expected an object whose 'labels' is a list")
    return labels


def load_local(
    data_dir: str | Path, folder: str, labels: list[str], pair_task: str | None = None, generation: bool = False
) -> dict[str, list[dict]]:
    """Train and validation rows of a task folder in the format of docs/offline-data.md
    (pair_task: as in _check_row; generation: rows with target and answers)."""
    root = Path(data_dir) / folder
    meta_path = root / "meta.json"
    if meta_path.is_file():
        meta_labels = _meta_labels(meta_path)
        if meta_labels is not None and not generation and meta_labels != list(labels):
            raise DataError(
                f"{meta_path}: labels {meta_labels} differ from the registry's {labels}; "
                "label indices would not mean the same thing"
            )
    return {
        split: read_local_split(root / f"{split}.jsonl", len(labels), pair_task, generation)
        for split in ("train", "validation")
    }


def _hub_label_index(value, hub_names: list[str] | None, labels: list[str], where: str) -> int | None:
    """Map a hub label (index or name) to our label index; None for unlabelled rows (e.g. SNLI -1)."""
    if value is None or value == -1:
        return None
    if isinstance(value, str):
        name = value
    elif hub_names is not None:
        if not 0 <= value < len(hub_names):
            raise DataError(f"{where}: label {value} is out of range for {len(hub_names)} hub labels")
        name = hub_names[value]
    else:
        name = labels[value] if 0 <= value < len(labels) else None
        if name is None:
            raise DataError(f"{where}: label {value} is out of range for {len(labels)} labels")
    if name not in labels:
        raise DataError(f"{where}: hub label {name!r} is not one of the registry labels {labels}")
    return labels.index(name)


def _hub_where(hub: dict) -> str:
    return f"{hub['path']}[{hub['name']}]"


def _hub_builder(datasets, hub: dict):
    """The hub source's dataset builder, prepared: downloaded at the revision asked for, or read
    from the datasets cache when the hub is switched off (HF_HUB_OFFLINE=1). A failure to reach,
    find or read it is the user's to fix, in one line."""
    try:
        builder = datasets.load_dataset_builder(
            hub["path"], hub["name"], revision=hub.get("revision"), data_files=hub.get("data_files")
        )
        builder.download_and_prepare()
    except (OSError, RuntimeError, ValueError) as e:
        # OSError: ConnectionError, DatasetNotFoundError, HTTP errors; RuntimeError: a loading
        # script (datasets 4+ runs none); ValueError: a config name the repository does not have.
        raise DataError(
            f"{_hub_where(hub)}: cannot load it from the HF hub ({e}); "
            "without hub access, give the task data in a folder: --config data_dir=<folder> (docs/usage.md, Offline use)"
        ) from None
    pinned = hub.get("revision")
    if pinned and re.fullmatch(r"[0-9a-f]{40}", pinned) and builder.hash != pinned:
        # Offline, datasets reads its latest cached copy whatever the revision asked for.
        raise DataError(
            f"{_hub_where(hub)}: the cached copy is at commit {builder.hash}, not the pinned revision {pinned} "
            "(fill the cache at that revision, docs/hub.md)"
        )
    return builder


def _hub_split(builder, hub: dict, split: str):
    if split not in (builder.info.splits or {}):
        raise DataError(
            f"{_hub_where(hub)}: no split {split!r} (the source has {sorted(builder.info.splits or {})}); "
            "map ours onto one of them under hub.splits"
        )
    return builder.as_dataset(split=split)


def _hub_field(example: dict, column: str):
    """A column of a hub row; a dotted path reads a nested field (SQuAD's answers.text)."""
    value = example
    for key in column.split("."):
        value = value[key]
    return value


def _hub_generation_row(example: dict, hub: dict) -> dict:
    answers = _hub_field(example, hub["answers"])
    answers = [answers] if isinstance(answers, str) else list(answers)
    target = _hub_field(example, hub["target"]) if hub["target"] else (answers[0] if answers else None)
    text_b = example[hub["text_b"]] if hub["text_b"] else None
    return {"text_a": example[hub["text_a"]], "text_b": text_b, "target": target, "answers": answers}


def load_hub(
    hub: dict, labels: list[str], pair_task: str | None = None, generation: bool = False
) -> tuple[dict[str, list[dict]], str]:
    """Train and validation rows of a task from the HF hub, mapped to the registry's labels
    (pair_task: as in _check_row; generation: rows with target and answers from the hub's
    `answers` and `target` columns), and the commit they were read at."""
    import datasets

    builder = _hub_builder(datasets, hub)
    out = {}
    for split in ("train", "validation"):
        hub_split = hub["splits"][split]
        ds = _hub_split(builder, hub, hub_split)
        feature = ds.features.get(hub["label"])
        hub_names = hub["label_names"] or getattr(feature, "names", None)
        where = f"{_hub_where(hub)}:{hub_split}"
        rows = []
        for i, ex in enumerate(ds):
            if generation:
                rows.append(_check_generation_row(_hub_generation_row(ex, hub), f"{where} row {i}", pair_task))
                continue
            label = _hub_label_index(ex[hub["label"]], hub_names, labels, f"{where} row {i}")
            if label is None:
                continue
            text_b = ex[hub["text_b"]] if hub["text_b"] else None
            row = {"text_a": ex[hub["text_a"]], "text_b": text_b, "label": label}
            rows.append(_check_row(row, f"{where} row {i}", len(labels), pair_task))
        if not rows:
            raise DataError(f"{where}: the split is empty")
        out[split] = rows
    return out, builder.hash


def sample_splits(rows: dict[str, list[dict]], settings: dict) -> dict[str, list[dict]]:
    """Deterministic train/dev/validation samples.

    dev is held out from the source's training split (at most a fifth of it) for evaluation
    during training; validation is where every reported score is measured. A size of None
    keeps the whole split (the rest of the training split after dev; all of validation).
    """
    rng = random.Random(settings["seed"])
    train = list(rows["train"])
    rng.shuffle(train)
    n_dev = min(settings["dev_size"], len(train) // 5)
    if n_dev < 1:
        raise DataError(f"the training split has {len(train)} rows, too few to hold out a dev set")
    validation = list(rows["validation"])
    if settings["validation_size"] is not None and len(validation) > settings["validation_size"]:
        validation = random.Random(settings["seed"]).sample(validation, settings["validation_size"])
    return {
        "train": train[n_dev:] if settings["train_size"] is None else train[n_dev : n_dev + settings["train_size"]],
        "dev": train[:n_dev],
        "validation": validation,
    }


def prepare_task_data(job: DataJob, out_dir: str | Path) -> dict:
    """Load, check and sample one task; write {split}.jsonl and meta.json into out_dir."""
    pair_task = job.task if job.pair else None
    if job.data_dir is not None:
        folder = job.local or job.task
        rows = load_local(job.data_dir, folder, job.labels, pair_task, bool(job.generation))
        # What was read, not where it lay: results name no path of the machine.
        files = {f"{split}.jsonl": file_sha256(Path(job.data_dir, folder, f"{split}.jsonl")) for split in rows}
        source = {"kind": "local", "folder": folder, "sha256": files}
    else:
        try:
            rows, commit = load_hub(job.hub, job.labels, pair_task, bool(job.generation))
        except DataError as e:
            raise DataError(f"task {job.task}: {e}") from None
        source = {
            "kind": "hub",
            **{k: job.hub.get(k) for k in ("path", "name", "splits", "revision", "data_files") if job.hub.get(k)},
            # What was read: the commit a branch, tag or the main branch resolved to.
            "commit": commit,
        }
    sampling = job.sampling.to_dict()
    splits = sample_splits(rows, sampling)
    meta = {
        "task": job.task,
        "type": job.type,
        "labels": job.labels,
        "source": source,
        "sampling": sampling,
        "sizes": {split: len(r) for split, r in splits.items()},
    }
    if not job.generation:
        meta["label_counts"] = {
            split: [sum(1 for x in r if x["label"] == i) for i in range(len(job.labels))] for split, r in splits.items()
        }
    for split, split_rows in splits.items():
        write_jsonl(Path(out_dir) / f"{split}.jsonl", split_rows)
    write_json(Path(out_dir) / "meta.json", meta)
    return meta


def read_split(data_dir: str | Path, split: str) -> list[dict]:
    """Read a split written by prepare_task_data (already checked)."""
    with open(Path(data_dir) / f"{split}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
