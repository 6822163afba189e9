"""Config validation: defaults, per-job settings, and errors that name the offending key."""

import copy

import pytest
import yaml
from conftest import REPO
from snakemake.utils import update_config

from prompt_transfer import specs
from prompt_transfer.config import ConfigError, load_config
from prompt_transfer.study import Study


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_the_shipped_config_is_valid_and_gets_defaults(raw):
    config = load_config(raw)
    assert config["study"]["backbones"] == ["minilm"]
    assert len(config["study"]["tasks"]) == 13
    assert config["training"]["warmup_steps"] == 0  # a default from the schema
    assert config["tasks"]["sst2"]["data"] == {}  # overrides hold only what was set
    assert "warmup_steps" not in raw["training"]  # the input is not modified


def test_settings_resolve_defaults_then_backbone_then_task(raw):
    raw = copy.deepcopy(raw)
    raw["tasks"]["sst2"]["training"] = {"learning_rate": 0.5}
    raw["tasks"]["sst2"]["data"] = {"train_size": 7}
    config = Study.from_config(load_config(raw))
    assert specs.training(config, "smollm2", "sst2").learning_rate == 0.5
    assert specs.training(config, "smollm2", "sst2").prompt_length == 20  # from the backbone
    assert specs.training(config, "minilm", "imdb").prompt_length == 100  # the default
    assert specs.sampling(config, "sst2").train_size == 7
    assert specs.sampling(config, "imdb").train_size == 5000


def test_task_spec_holds_only_its_family(raw):
    spec = specs.task(Study.from_config(load_config(raw)), "mnli", "causal")
    assert spec.label_words == ["yes", "maybe", "no"]
    assert set(spec.templates) == {"causal"}


RULE = "is not a valid name: letters and digits, in runs joined by single '_', '-' or '+'"


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda c: c["training"].update(learning_rate="fast"),
            "training.learning_rate: 'fast' is not of type 'number'",
        ),
        (lambda c: c["study"].update(tasks=["sst2", "nope"]), "study.tasks: unknown task 'nope'"),
        (lambda c: c["study"].update(backbones=["gpt9"]), "study.backbones: unknown backbone 'gpt9'"),
        (lambda c: c.update(learning_rate=0.1), "(top level): unknown key 'learning_rate' (allowed: data_dir, "),
        (
            lambda c: c["tasks"]["sst2"].setdefault("training", {}).update(batch_size=0),
            "tasks.sst2.training.batch_size: 0 is less than the minimum",
        ),
        (
            lambda c: c["tasks"]["sst2"]["label_words"].update(embedding=["a", "b", "c"]),
            "tasks.sst2.label_words.embedding: 3 entries for 2 labels",
        ),
        (lambda c: c["backbones"]["minilm"].update(scorer="magic"), "backbones.minilm.scorer: 'magic' is not one of"),
        (
            lambda c: c["tasks"]["sst2"].setdefault("training", {}).update(lr=0.1),
            "tasks.sst2.training: unknown key 'lr' (allowed: prompt_length",
        ),
        (lambda c: c["tasks"]["qqp"].pop("hub"), "tasks.qqp: no hub source, and data_dir is not set"),
        (lambda c: c["backbones"].update({"mini lm": c["backbones"]["minilm"]}), f"backbones: 'mini lm' {RULE}"),
        (lambda c: c["study"].update(backbones=["minilm", "a__b"]), f"study.backbones.1: 'a__b' {RULE}"),
        (lambda c: c["study"].update(tasks=["sst2", "x/y"]), f"study.tasks.1: 'x/y' {RULE}"),
        (
            lambda c: c["indicators"].update(
                external_prompts={"a@b": {"prompts": {"x": {"path": "x"}, "y": {"path": "y"}}}}
            ),
            f"indicators.external_prompts: 'a@b' {RULE}",
        ),
    ],
)
def test_bad_config_is_refused_with_the_key_named(raw, change, message):
    bad = copy.deepcopy(raw)
    change(bad)
    with pytest.raises(ConfigError) as error:
        load_config(bad)
    assert message in str(error.value)


def test_yaml_anchor_keys_are_allowed(raw):
    assert "x-templates" in load_config(raw)


@pytest.mark.parametrize("study", sorted(p.name for p in (REPO / "studies").glob("*.yaml")))
def test_every_study_file_layers_into_a_valid_config(raw, study):
    # --configfile merges a study file into config.yaml key by key, as update_config does.
    layered = copy.deepcopy(raw)
    update_config(layered, yaml.safe_load((REPO / "studies" / study).read_text()))
    layered["data_dir"] = "task-data"
    load_config(layered)


@pytest.mark.parametrize("bad", ["sst2__sst2", "my/task", "my task", "sst2@x", "a.b", "_x", "x-"])
def test_a_task_name_that_cannot_be_part_of_a_path_is_refused(raw, bad):
    bad_config = copy.deepcopy(raw)
    bad_config["tasks"][bad] = bad_config["tasks"]["sst2"]
    with pytest.raises(ConfigError) as error:
        load_config(bad_config)
    assert f"tasks: {bad!r} {RULE}" in str(error.value)
    assert len(str(error.value).splitlines()) == 2  # the header and the one problem


def test_the_shipped_names_follow_the_rule(raw):
    config = load_config(raw)
    assert {"ethics_deontology", "minilm-hub", "t5-base"} <= set(config["tasks"]) | set(config["backbones"])


def test_pair_follows_the_hub_source_unless_set(raw):
    bare = copy.deepcopy(raw)
    for task in bare["tasks"].values():
        task.pop("pair")
    config = load_config(bare)
    assert [t for t in config["tasks"] if config["tasks"][t]["pair"]] == [
        t for t in load_config(raw)["tasks"] if raw["tasks"][t]["pair"]
    ]
    assert "pair" not in specs.data_job(Study.from_config(config), "sst2").to_dict()  # single-text specs are unchanged
    wrong = copy.deepcopy(raw)
    wrong["tasks"]["sst2"]["pair"] = True
    with pytest.raises(ConfigError, match="tasks.sst2.pair: a pair task needs the hub source's text_b column"):
        load_config(wrong)
