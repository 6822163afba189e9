"""PEFT prompt-tuning adapters out and in (prompt_transfer.peft_io), on tiny random models: a
prompt the workflow trained, exported and loaded by `PeftModel.from_pretrained`, gives the
scorer's class logits; an adapter PEFT trained, read back, gives PEFT's logits in the scorer;
other adapters and broken folders are refused in one line."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import torch
import yaml

from conftest import (
    BACKBONE,
    TASKS,
    TINY,
    TINY_CONFIG,
    TINY_TRAINING,
    copy_workdir,
    jobs,
    materialize,
    overlay,
    sentiment_task,
    snakemake,
)
from prompt_transfer import layout, peft_io
from prompt_transfer.errors import FileFormatError, PromptShapeError, UserError
from prompt_transfer.io import file_sha256
from prompt_transfer.families import FAMILIES, REGISTRY
from prompt_transfer.session import make_scorer
from prompt_transfer.specs import TrainJob

TOLERANCE = 1e-5  # float32: the scorer reads the label rows of the LM head, PEFT runs all of it


def peft_logits(peft_model, scorer, batch, length):
    with torch.no_grad():
        return peft_io.class_logits(peft_io.peft_forward(peft_model, scorer, batch), scorer, batch, length)


def scorer_logits(scorer, prompt, batch):
    with torch.no_grad():
        return scorer.logits(prompt, batch)


@pytest.fixture(scope="module")
def tiny_causal(tmp_path_factory, task_data):
    """A tiny random Llama, materialised as the workflow does it (manifest + HF folder)."""
    source = {"tiny": {**TINY.source["tiny"], "corpus": [str(task_data / "sst2" / "train.jsonl")]}}
    spec = dataclasses.replace(TINY, name="tiny-causal", scorer="causal", source=source, scorer_options={})
    return spec, materialize(spec, tmp_path_factory.mktemp("models"))


def test_a_trained_prompt_exported_gives_the_scorers_logits_through_peft(tiny_causal, sst2_dir, sst2_rows, tmp_path):
    from prompt_transfer.training import run_train_job

    spec, manifest = tiny_causal
    job = TrainJob(spec, sentiment_task(), dataclasses.replace(TINY_TRAINING, precision="fp32"))
    prompt_path = tmp_path / "prompt.safetensors"
    paths = [prompt_path, tmp_path / "log.csv", tmp_path / "metrics.json"]
    run_train_job(job, manifest, sst2_dir, *paths, threads=1)
    side = peft_io.run_export_job(job, manifest, prompt_path, tmp_path / "adapter")

    # the scorer with the adapter's prompt against the backbone loaded again, through PEFT
    compared = peft_io.compare_with_peft(tmp_path / "adapter", manifest, sst2_rows, threads=1)
    assert compared["peft_model"] == "PeftModelForCausalLM" and compared["examples"] == len(sst2_rows)
    assert compared["max_abs_logit_difference"] < TOLERANCE and compared["same_predictions"] == len(sst2_rows)

    config = json.loads((tmp_path / "adapter" / peft_io.ADAPTER_CONFIG).read_text())
    assert config["peft_type"] == "PROMPT_TUNING" and config["task_type"] == "CAUSAL_LM"
    assert config["num_virtual_tokens"] == TINY_TRAINING.prompt_length and config["token_dim"] == 32
    assert config["base_model_name_or_path"] == str(manifest.parent / "hf")
    assert side["task"]["label_words"] == ["negative", "positive"] and side["scorer"]["family"] == "causal"
    assert side["training"]["best_step"] == json.loads(paths[2].read_text())["best_step"]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_reads_the_same_logits_out_of_peft(tiny_backbones, family, sst2_rows, tmp_path):
    """The backbone's pass with the prompt is PEFT's in every family; the class read-out is the
    scorer's (peft_io.class_logits)."""
    from peft import PeftModel

    model, tokenizer = tiny_backbones[family]
    scorer = make_scorer(family, model, tokenizer, sentiment_task(), 32)
    prompt = torch.randn(5, scorer.hidden_size, generator=torch.Generator().manual_seed(0))
    peft_io.export_adapter(prompt, tmp_path, peft_io.adapter_config(5, scorer.hidden_size, family, "tiny"), {})
    peft_model = PeftModel.from_pretrained(copy.deepcopy(model), tmp_path).eval()
    batch = scorer.collate(scorer.encode(sst2_rows[:16]))
    ours, theirs = scorer_logits(scorer, prompt, batch), peft_logits(peft_model, scorer, batch, 5)
    assert (ours - theirs).abs().max().item() < TOLERANCE


@pytest.mark.parametrize("family", ["causal", "seq2seq"])
def test_an_adapter_trained_by_peft_gives_its_logits_in_the_scorer(tiny_backbones, family, sst2_rows, tmp_path):
    """A few steps of PEFT prompt tuning (PEFT's own defaults: seq2seq keeps 2 x L rows), saved
    by PEFT, read back: the scorer with that prompt gives the PEFT model's logits."""
    from peft import PromptTuningConfig, get_peft_model

    model, tokenizer = tiny_backbones[family]
    scorer = make_scorer(family, model, tokenizer, sentiment_task(), 32)
    torch.manual_seed(0)
    config = PromptTuningConfig(task_type=REGISTRY[family].peft_task_type, num_virtual_tokens=3)
    peft_model = get_peft_model(copy.deepcopy(model), config)
    batch = scorer.collate(scorer.encode(sst2_rows[:16]))
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=0.1)
    start = [p.detach().clone() for p in trainable]
    for _ in range(3):
        logits = peft_io.class_logits(peft_io.peft_forward(peft_model, scorer, batch), scorer, batch, 3)
        torch.nn.functional.cross_entropy(logits, batch.labels).backward()
        optimizer.step()
        optimizer.zero_grad()
    assert not torch.equal(start[0], trainable[0])  # it did train
    peft_model.eval().save_pretrained(tmp_path)

    prompt, info = peft_io.read_peft_adapter(tmp_path, expected_hidden_size=scorer.hidden_size)
    assert prompt.shape == (3, scorer.hidden_size) and info["task_type"] == config.task_type
    assert info["prompt_transfer"] is None  # not one of ours: no side file
    ours, theirs = scorer_logits(scorer, prompt, batch), peft_logits(peft_model, scorer, batch, 3)
    assert (ours - theirs).abs().max().item() < TOLERANCE


def test_a_hub_id_is_read_through_the_hub_client(tiny_backbones, tmp_path, monkeypatch):
    import huggingface_hub

    prompt = torch.randn(2, 32)
    peft_io.export_adapter(prompt, tmp_path / "snapshot", peft_io.adapter_config(2, 32, "causal", "x"), {"a": 1})
    asked = []
    monkeypatch.setattr(
        huggingface_hub, "snapshot_download", lambda repo, **kw: asked.append(repo) or tmp_path / "snapshot"
    )
    read, info = peft_io.read_peft_adapter("someone/soft-prompt", 32)
    assert asked == ["someone/soft-prompt"] and torch.equal(read, prompt) and info["prompt_transfer"] == {"a": 1}

    def offline(repo, **kw):
        raise OSError("no connection")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(UserError, match="someone/soft-prompt: no local folder.*HF hub gave no adapter"):
        peft_io.read_peft_adapter("someone/soft-prompt")


def test_other_adapters_and_broken_folders_are_refused_by_name(tiny_backbones, tmp_path):
    from peft import LoraConfig, get_peft_model

    model, _ = tiny_backbones["causal"]
    lora = tmp_path / "lora"
    get_peft_model(copy.deepcopy(model), LoraConfig(target_modules=["q_proj"])).save_pretrained(lora)
    with pytest.raises(UserError, match=r"lora: a PEFT LORA adapter; only PROMPT_TUNING"):
        peft_io.read_peft_adapter(lora)

    good = tmp_path / "good"
    peft_io.export_adapter(torch.randn(4, 32), good, peft_io.adapter_config(4, 32, "causal", "tiny"), {})
    with pytest.raises(
        PromptShapeError, match=r"good: prompt of shape \[4, 32\] does not fit this backbone \(\[L, 48\]\)"
    ):
        peft_io.read_peft_adapter(good, expected_hidden_size=48)
    with pytest.raises(FileNotFoundError, match="nowhere: no such PEFT adapter folder"):
        peft_io.read_peft_adapter(tmp_path / "nowhere")
    with pytest.raises(FileFormatError, match="a folder .* not a file"):
        peft_io.read_peft_adapter(good / peft_io.ADAPTER_WEIGHTS)

    broken = {
        "no_config": (lambda d: (d / peft_io.ADAPTER_CONFIG).unlink(), "no adapter_config.json"),
        "bad_json": (
            lambda d: (d / peft_io.ADAPTER_CONFIG).write_text("{oops"),
            r"adapter_config.json:1: not valid JSON",
        ),
        "no_weights": (lambda d: (d / peft_io.ADAPTER_WEIGHTS).unlink(), "PEFT adapter without adapter_model"),
        "bad_weights": (lambda d: (d / peft_io.ADAPTER_WEIGHTS).write_bytes(b"garbage"), "not a valid safetensors"),
    }
    for name, (damage, message) in broken.items():
        folder = tmp_path / name
        peft_io.export_adapter(torch.randn(4, 32), folder, peft_io.adapter_config(4, 32, "causal", "tiny"), {})
        damage(folder)
        with pytest.raises(UserError, match=message) as caught:
            peft_io.read_peft_adapter(folder)
        assert "\n" not in str(caught.value)


@pytest.mark.workflow
def test_the_study_exports_every_prompt_and_fills_the_bank(study, task_data, tmp_path):
    import pandas as pd

    from prompt_transfer.prompts import load_prompt

    work = tmp_path / "study"
    copy_workdir(study, work)
    result = snakemake(work, layout.BANK_INDEX, data_dir=task_data)
    made = {(f"backbone={BACKBONE}, seed=0, task={task}") for task in TASKS}
    assert jobs(result.stderr) == {
        *(("export_peft", w) for w in made),
        *(("bank_entry", w) for w in made),
        ("prompt_bank", ""),
    }  # nothing trained or scored again

    index = pd.read_csv(work / layout.BANK_INDEX)
    assert list(index.task) == TASKS and set(index.backbone) == {BACKBONE}
    for row in index.itertuples():
        entry = json.loads((work / row.entry).read_text())
        prompt_file = work / layout.PROMPT.format(backbone=BACKBONE, seed=0, task=row.task)
        prompt, _ = load_prompt(prompt_file)
        adapter, info = peft_io.read_peft_adapter(work / row.peft_adapter, prompt.shape[1])
        assert torch.equal(adapter, prompt) and info["prompt_transfer"]["task"]["name"] == row.task
        assert entry["prompt"]["sha256"] == file_sha256(prompt_file)
        data_dir = work / layout.DATA_DIR.format(task=row.task)
        assert entry["data"]["sha256"]["validation"] == file_sha256(data_dir / "validation.jsonl")
        scored = json.loads(
            (work / layout.TRANSFER.format(backbone=BACKBONE, seed=0, source=row.task, target=row.task)).read_text()
        )
        trained = json.loads((work / layout.TRAIN_METRICS.format(backbone=BACKBONE, seed=0, task=row.task)).read_text())
        assert row.validation_accuracy == scored["accuracy"] and row.dev_accuracy == trained["best_dev_accuracy"]
        assert entry["settings"]["train"]["training"] == trained["settings"] and row.seed == trained["settings"]["seed"]
        assert entry["environment"]["versions"]["peft"] and entry["run"]["job_wall_seconds"] > 0

    # The exported adapters as the prompt source of another backbone of the same weights: the
    # workflow reads them back (rule import_prompt, layout peft) and scores them as its own.
    tiny = yaml.safe_load(TINY_CONFIG.read_text())["backbones"][BACKBONE]
    imported = {**tiny, "prompts": {"layout": "peft", "path": f"results/peft/{BACKBONE}/seed0"}}
    change = overlay(work, "peft.yaml", {"study": {"backbones": ["from-peft"]}, "backbones": {"from-peft": imported}})
    result = snakemake(work, layout.MATRIX.format(backbone="from-peft"), configfiles=[change], data_dir=task_data)
    assert {rule for rule, _ in jobs(result.stderr)} >= {"import_prompt", "evaluate_transfer"}
    assert "train_prompt" not in {rule for rule, _ in jobs(result.stderr)}
    ours, read_back = (
        pd.read_csv(work / layout.MATRIX.format(backbone=b)).set_index(["source", "target"]).accuracy
        for b in (BACKBONE, "from-peft")
    )
    assert read_back.to_dict() == ours.to_dict()

    # ... and as the initial prompt of a TPT run on the backbone that trains its prompts.
    start = {"source": "sst2", "target": "laptop", "backbone": BACKBONE, "prompts_of": "from-peft"}
    change = overlay(work, "tpt.yaml", {"backbones": {"from-peft": imported}, "tpt": {"pairs": [start]}})
    log = layout.TPT_LOG.format(backbone=BACKBONE, seed=0, init="sst2@from-peft", target="laptop")
    result = snakemake(work, log, configfiles=[change], data_dir=task_data)
    assert jobs(result.stderr) == {("tpt_train", f"backbone={BACKBONE}, seed=0, init=sst2@from-peft, target=laptop")}
    metrics = json.loads((work / log.replace(".csv", ".metrics.json")).read_text())
    assert metrics["init"]["path"] == layout.PROMPT.format(backbone="from-peft", seed=0, task="sst2")

    # ... and as a prompt set for the model-free indicators.
    change = overlay(
        work, "set.yaml", {"indicators": {"external_prompts": {"adapters": {"source": imported["prompts"]}}}}
    )
    table = layout.EXTERNAL_INDICATORS.format(prompt_set="adapters")
    snakemake(work, table, configfiles=[change], data_dir=task_data)
    indicators = pd.read_csv(work / table)
    assert set(indicators.source) | set(indicators.target) == set(TASKS)
