"""Cross-model transfer: the projector's shape and normalisation, both objectives on tiny models
of different widths (32 -> 48), that only the projector learns, projected prompt files, the
config checks, and the workflow's cross-model stage in a temporary directory."""

from __future__ import annotations

import copy
from dataclasses import replace
import json

import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO, jobs, overlay, sentiment_task, snakemake

from prompt_transfer import cross_model
from prompt_transfer import projector as proj
from prompt_transfer.backbones import build_tiny_model
from prompt_transfer.config import ConfigError, load_config
from prompt_transfer.prompts import PromptShapeError, load_prompt, save_prompt
from prompt_transfer.runtime import setup_runtime
from prompt_transfer.session import make_scorer
from prompt_transfer.specs import ProjectorSettings
from prompt_transfer.study import Study

LENGTH, SOURCE, TARGET, HIDDEN = 4, 32, 48, 16
SETTINGS = ProjectorSettings(
    hidden_size=HIDDEN,
    learning_rate=5e-3,
    adam_eps=1e-6,
    weight_decay=0.0,
    grad_clip=1.0,
    eval_interval=10,
    seed=0,
    max_steps=10,
    batch_size=8,
)


def new_projector(seed=0) -> proj.PromptProjector:
    torch.manual_seed(seed)
    return proj.PromptProjector(LENGTH, SOURCE, TARGET, HIDDEN)


def test_projector_maps_source_prompts_to_normalised_target_prompts():
    projector = new_projector()
    single, batch = torch.randn(LENGTH, SOURCE), torch.randn(3, LENGTH, SOURCE)
    out = projector(single)
    assert out.shape == (LENGTH, TARGET)
    assert projector(batch).shape == (3, LENGTH, TARGET)
    assert torch.allclose(projector(batch)[1], projector(batch[1]), atol=1e-6)  # prompts are mapped independently
    # LayerNorm over d_t per token (affine weights start at 1, 0)
    assert torch.allclose(out.mean(-1), torch.zeros(LENGTH), atol=1e-5)
    assert torch.allclose(out.var(-1, unbiased=False), torch.ones(LENGTH), atol=1e-3)
    assert projector.norm.normalized_shape == (TARGET,)
    assert projector.encode.in_features == LENGTH * SOURCE and projector.decode.out_features == LENGTH * TARGET
    with pytest.raises(PromptShapeError, match=r"maps prompts of shape \[4, 32\], not \[5, 32\]"):
        projector(torch.randn(5, SOURCE))


def test_distance_objective_fits_the_target_prompts_and_leaves_the_sources_alone():
    sources, targets = torch.randn(2, LENGTH, SOURCE), 0.05 * torch.randn(2, LENGTH, TARGET)
    before = sources.clone()
    projector = new_projector()
    log = proj.train_distance(
        projector, sources, targets, replace(SETTINGS, max_steps=300, eval_interval=100), progress=False
    )

    assert [row["step"] for row in log] == [0, 100, 200, 300]
    assert [row["examples_seen"] for row in log] == [0, 200, 400, 600]
    final = torch.nn.functional.mse_loss(projector(sources), targets).item()
    assert final < 0.02 * log[0]["train_loss"], log  # from ~1 (unit-variance outputs) to near the targets
    assert torch.equal(sources, before)


@pytest.fixture(scope="module")
def wide_scorer(tiny_backbones, sst2_rows):
    """A 48-d tiny encoder (the target) with the embedding scorer of a sentiment task."""
    _, tokenizer = tiny_backbones["embedding"]
    model = build_tiny_model(
        "embedding", len(tokenizer), hidden_size=TARGET, layers=2, heads=2, intermediate_size=64, seed=1
    )
    model.requires_grad_(False)
    model.eval()
    scorer = make_scorer("embedding", model, tokenizer, sentiment_task(), 32, {"scale": 20.0})
    return scorer, scorer.encode(sst2_rows)


def test_task_objective_trains_only_the_projector(wide_scorer):
    scorer, items = wide_scorer
    runtime = setup_runtime(1, "fp32")
    source = torch.randn(LENGTH, SOURCE)
    source_before = source.clone()
    backbone_before = copy.deepcopy(scorer.model.state_dict())
    projector = new_projector()
    weights_before = copy.deepcopy(projector.state_dict())
    # one class only: a random tiny encoder barely reads the prompt, but it can lean towards one label
    train = [x for x in items if x.label == 0][:16]
    batch = scorer.collate(train)
    task = proj.ProjectionTask(scorer, source, train, items[16:48])

    def train_loss():
        with torch.no_grad():
            return torch.nn.functional.cross_entropy(scorer.logits(projector(source), batch), batch.labels).item()

    initial_loss = train_loss()
    settings = replace(SETTINGS, max_steps=40, batch_size=16)
    result = proj.train_task(projector, [task], settings, runtime, torch.Generator().manual_seed(0), progress=False)

    log = pd.DataFrame(result.log)
    assert list(log.step) == [0, 10, 20, 30, 40] and list(log.examples_seen) == [0, 160, 320, 480, 640]
    assert train_loss() < initial_loss - 0.03, log  # measured: 0.81 -> 0.76
    assert all(not torch.equal(weights_before[k], v) for k, v in projector.state_dict().items())
    assert all(torch.equal(backbone_before[k], v) for k, v in scorer.model.state_dict().items())
    assert all(p.grad is None for p in scorer.model.parameters())
    assert torch.equal(source, source_before)
    # the projector kept is the one with the best dev accuracy, and it scores what the log says
    assert result.best_score == log.dev_accuracy.max()
    projector.load_state_dict(result.best)
    assert proj.dev_accuracy(projector, [task], 64, runtime) == result.best_score


def test_task_objective_cycles_over_the_task_set(wide_scorer):
    scorer, items = wide_scorer
    seen = []

    class Recording:  # the scorer, recording which task each training batch is scored for
        def __init__(self, name):
            self.name = name

        def __getattr__(self, attr):
            return getattr(scorer, attr)

        def logits(self, prompt, batch):
            seen.append(self.name)
            return scorer.logits(prompt, batch)

    tasks = [
        proj.ProjectionTask(Recording(n), torch.randn(LENGTH, SOURCE), items[:16], items[16:24])
        for n in ("a", "b", "c")
    ]
    settings = replace(SETTINGS, max_steps=5, eval_interval=100)
    proj.train_task(
        new_projector(), tasks, settings, setup_runtime(1, "fp32"), torch.Generator().manual_seed(0), progress=False
    )
    # dev scoring of every task before the first step and after the last, training batches a, b, c, a, b between
    assert seen == ["a", "b", "c"] + ["a", "b", "c", "a", "b"] + ["a", "b", "c"]


def test_projector_files_and_projected_prompts_round_trip(tmp_path):
    projector = new_projector()
    meta = {
        "source_backbone": "small",
        "target_backbone": "wide",
        "objective": "task",
        "task_set": "sentiment",
        "tasks": ["sst2"],
    }
    proj.save_projector(tmp_path / "p.safetensors", projector, meta)
    loaded, loaded_meta = proj.load_projector(tmp_path / "p.safetensors")
    assert loaded_meta["shape"] == {
        "prompt_length": LENGTH,
        "source_size": SOURCE,
        "target_size": TARGET,
        "hidden_size": HIDDEN,
    }
    source = torch.randn(LENGTH, SOURCE)
    save_prompt(tmp_path / "laptop.safetensors", source, {"task": "laptop", "backbone": "small"})

    projected = proj.run_project_job(
        tmp_path / "p.safetensors", tmp_path / "laptop.safetensors", tmp_path / "out.safetensors"
    )

    prompt, prompt_meta = load_prompt(tmp_path / "out.safetensors", TARGET)
    assert prompt.shape == (LENGTH, TARGET)
    assert torch.allclose(prompt, projector(source).detach()) and torch.equal(prompt, projected)
    assert prompt_meta["task"] == "laptop" and prompt_meta["backbone"] == "wide"
    assert prompt_meta["projector"]["objective"] == "task" and prompt_meta["init"]["source_backbone"] == "small"


def test_prompts_of_different_lengths_are_refused(tmp_path):
    save_prompt(tmp_path / "a.safetensors", torch.randn(4, SOURCE), {"task": "a"})
    save_prompt(tmp_path / "b.safetensors", torch.randn(5, SOURCE), {"task": "b"})
    with pytest.raises(PromptShapeError, match="a projector needs prompts of one shape"):
        proj.stack_prompts([tmp_path / "a.safetensors", tmp_path / "b.safetensors"])


def registry(**projector) -> Study:
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["projector"].update(projector)
    return Study.from_config(load_config(raw))


@pytest.mark.parametrize(
    "section, message",
    [
        (
            {"pairs": [{"source": "minilm", "target": "no_such_model"}]},
            "projector.pairs[0].target: unknown backbone 'no_such_model'",
        ),
        (
            {"pairs": [{"source": "minilm", "target": "minilm"}]},
            "projector.pairs[0]: source and target are both 'minilm'",
        ),
        ({"task_sets": {"sentiment": ["sst3"]}}, "projector.task_sets.sentiment: unknown task 'sst3'"),
        ({"task_sets": {"my/set": ["sst2"]}}, "projector.task_sets: 'my/set' is not a valid name: letters and digits"),
        ({"eval_tasks": ["sst2", "nope"]}, "projector.eval_tasks: unknown task 'nope'"),
        (
            {"pairs": [{"source": "minilm", "target": "smollm2"}]},
            "task 'laptop' has prompt_length 100 on 'minilm' but 20 on 'smollm2'",
        ),
    ],
)
def test_bad_projector_sections_are_named(section, message):
    with pytest.raises(ConfigError) as error:
        cross_model.check(registry(**section))
    assert message in str(error.value)


def test_schema_errors_name_the_projector_key():
    with pytest.raises(ConfigError, match=r"projector.objectives.0: 'mse' is not one of \['distance', 'task'\]"):
        registry(objectives=["mse"])
    with pytest.raises(ConfigError, match=r"projector: unknown key 'hidden'"):
        registry(hidden=12)


def test_the_default_projector_section_is_valid():
    config = registry()
    cross_model.check(config)
    assert config.projector["pairs"] == [{"source": "minilm", "target": "mpnet"}]
    assert cross_model.eval_tasks(config) == config.tasks


# --- the workflow -----------------------------------------------------------------------------

SMALL, WIDE = "tiny-embedding", "tiny-wide"
TASKS = ["sst2", "mnli"]  # the target tasks (of the tiny study's three, to keep the run short)
PAIR = f"{SMALL}__{WIDE}"
CROSS_MODEL = {
    "backbones": {
        WIDE: {
            "description": "random 2-layer BERT encoder, 48-d (the projection target)",
            "source": {
                "tiny": {
                    "corpus": ["sst2/train.jsonl"],
                    "vocab_words": 3000,
                    "extra_words": ["neutral", "mixed", "maybe"],
                    "hidden_size": 48,
                    "seed": 1,
                }
            },
            "scorer": "embedding",
        }
    },
    "projector": {
        "pairs": [{"source": SMALL, "target": WIDE}],
        "task_sets": {"sentiment": ["sst2"], "nli": ["mnli"]},
        "eval_tasks": TASKS,
        "hidden_size": 16,
        "max_steps": {"distance": 6, "task": 4},
        "batch_size": 8,
        "eval_interval": 2,
    },
    "resources": {"projector": {"threads": 1, "mem_mb": 1000}},
}


@pytest.fixture(scope="module")
def cross_model_run(tmp_path_factory, task_data):
    workdir = tmp_path_factory.mktemp("cross_model")
    config = overlay(workdir, "cross_model.yaml", CROSS_MODEL)
    snakemake(workdir, "results/cross_model.pdf", configfiles=[config], data_dir=task_data)
    return workdir, config


@pytest.mark.workflow
def test_the_cross_model_stage_produces_projectors_table_and_figure(cross_model_run):
    workdir, _ = cross_model_run
    table = pd.read_csv(workdir / f"results/cross_model/{PAIR}.csv")
    assert list(table.columns) == ["prompt", "objective", "task_set", *TASKS]
    projected_rows = {f"projected ({o}, {s})" for o in ("distance", "task") for s in ("sentiment", "nli")}
    assert set(table.prompt[:4]) == projected_rows  # in the config's order of objectives and task sets
    assert list(table.prompt[4:]) == ["own prompt", "no prompt", "random prompt"]
    for task in TASKS:
        own = json.loads((workdir / f"results/transfer/{WIDE}/seed0/{task}__{task}.json").read_text())
        assert table.loc[table.prompt == "own prompt", task].item() == own["accuracy"]
        projected = json.loads((workdir / f"results/cross_model/{PAIR}/seed0/task__nli/{task}.json").read_text())
        assert table.loc[table.prompt == "projected (task, nli)", task].item() == projected["accuracy"]
        prompt, meta = load_prompt(
            workdir / f"results/projectors/{PAIR}/seed0/projected/task__nli/{task}.safetensors", 48
        )
        assert prompt.shape == (4, 48) and meta["task"] == task and meta["backbone"] == WIDE
    assert (workdir / "results/cross_model.pdf").read_bytes()[:5] == b"%PDF-"

    for objective, steps in (("distance", [0, 2, 4, 6]), ("task", [0, 2, 4])):
        projector, meta = proj.load_projector(
            workdir / f"results/projectors/{PAIR}/seed0/{objective}__sentiment.safetensors"
        )
        assert meta["shape"] == {"prompt_length": 4, "source_size": 32, "target_size": 48, "hidden_size": 16}
        assert meta["tasks"] == ["sst2"] and meta["objective"] == objective
        log = pd.read_csv(workdir / f"results/projectors/{PAIR}/seed0/{objective}__sentiment.log.csv")
        assert list(log.step) == steps
    assert (workdir / f"results/benchmarks/train_projector_task/{PAIR}/seed0/nli.tsv").is_file()


@pytest.mark.workflow
def test_cross_model_reruns_exactly_what_a_projector_setting_changes(cross_model_run, task_data):
    workdir, config = cross_model_run
    assert (
        "Nothing to be done"
        in snakemake(workdir, "-n", "results/cross_model.pdf", configfiles=[config], data_dir=task_data).stdout
    )

    changed = copy.deepcopy(CROSS_MODEL)
    changed["projector"]["max_steps"]["task"] = 5
    change = overlay(workdir, "steps.yaml", changed)
    planned = jobs(snakemake(workdir, "-n", "results/cross_model.pdf", configfiles=[change], data_dir=task_data).stdout)
    per_task = [
        f"source_model={SMALL}, target_model={WIDE}, seed=0, objective=task, taskset={s}, task={t}"
        for s in ("sentiment", "nli")
        for t in TASKS
    ]
    expected = (
        {
            ("train_projector_task", f"source_model={SMALL}, target_model={WIDE}, seed=0, taskset={s}")
            for s in ("sentiment", "nli")
        }
        | {("project_prompt", w) for w in per_task}
        | {("evaluate_cross_model", w) for w in per_task}
        | {("cross_model_table", f"source_model={SMALL}, target_model={WIDE}"), ("cross_model_figure", "")}
    )
    assert planned == expected


@pytest.mark.workflow
def test_a_projected_prompt_initialises_prompt_tuning_on_the_target(cross_model_run, task_data):
    """The path contract with TPT: its run from a projected prompt reads this stage's file."""
    workdir, _ = cross_model_run
    init = {
        "source": "sst2",
        "target": "sst2",
        "backbone": WIDE,
        "projected": {"from": SMALL, "objective": "task", "taskset": "sentiment"},
    }
    tpt = overlay(workdir, "tpt.yaml", {**CROSS_MODEL, "study": {"backbones": [SMALL, WIDE]}, "tpt": {"pairs": [init]}})
    target = f"results/tpt/{WIDE}/seed0/sst2@{SMALL}.task.sentiment__sst2.csv"
    out = snakemake(workdir, "-n", target, configfiles=[tpt], data_dir=task_data).stdout
    assert jobs(out) == {("tpt_train", f"backbone={WIDE}, seed=0, init=sst2@{SMALL}.task.sentiment, target=sst2")}
    assert f"results/projectors/{PAIR}/seed0/projected/task__sentiment/sst2.safetensors" in out


@pytest.mark.workflow
def test_a_bad_projector_section_fails_before_any_job(tmp_path, task_data):
    bad = overlay(tmp_path, "bad.yaml", {"projector": {"task_sets": {"sentiment": ["sst3"]}}})
    result = snakemake(tmp_path, "results/cross_model.pdf", configfiles=[bad], data_dir=task_data, check=False)
    assert result.returncode != 0
    assert "projector.task_sets.sentiment: unknown task 'sst3'" in result.stderr
    assert not (tmp_path / "results").exists()
