"""Inputs checked before any job runs: templates and label words per (task, backbone), with the
tiny backbone's real tokenizer; every probe is one line naming the culprit and no result."""

import copy
import re

import pytest
import torch
import yaml
from conftest import REPO, TINY_CONFIG, snakemake
from snakemake.utils import update_config

from prompt_transfer.config import ConfigError, load_study
from prompt_transfer.errors import FileFormatError


@pytest.fixture()
def raw(task_data):
    """The tiny study as Snakemake layers it, with a tiny causal backbone beside the encoder."""
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(raw, yaml.safe_load(TINY_CONFIG.read_text()))
    raw["data_dir"] = str(task_data)
    raw["backbones"]["tiny-causal"] = {**copy.deepcopy(raw["backbones"]["tiny-embedding"]), "scorer": "causal"}
    raw["study"]["backbones"] = ["tiny-embedding", "tiny-causal"]
    return raw


def refusal(raw) -> str:
    with pytest.raises(ConfigError) as error:
        load_study(raw)
    lines = str(error.value).splitlines()
    assert lines[0] == "invalid configuration:" and len(lines) == 2, lines
    return lines[1].strip()


def test_the_tiny_study_with_a_causal_backbone_passes(raw):
    load_study(raw)


@pytest.mark.parametrize(
    "template, message",
    [
        ("It was {mask}.", "template 'It was {mask}.': no text field ({text_a}): every input would be the same text"),
        ("{text_a} {mask} {mask}", "{mask} 2 times: the scorer reads one mask position"),
        ("{text_c} {mask}", "unknown field {text_c} (fields: {text_a}, {text_b}, {sep}, {mask})"),
        ("{text_a!r}", "unknown field {text_a!r}"),
        ("{text_a {mask}", "bad braces (unexpected '{' in field name"),
        ("{text_a} }", "bad braces (Single '}' encountered"),
    ],
)
def test_a_template_that_cannot_render_is_named_with_task_and_backbone(raw, template, message):
    raw["tasks"]["sst2"]["templates"] = {"causal": template}
    line = refusal(raw)
    assert line.startswith("tasks.sst2.templates.causal (backbone tiny-causal): ")
    assert message in line


def test_the_default_template_is_checked_for_every_family_that_reads_it(raw):
    raw["tasks"]["sst2"]["templates"] = {"default": "It was {mask}.", "causal": "{text_a} It was"}
    assert refusal(raw).startswith("tasks.sst2.templates.default (backbone tiny-embedding): ")


def test_a_pair_task_whose_template_drops_the_second_text_is_refused(raw):
    raw["tasks"]["mnli"]["templates"] = {"causal": "Premise: {text_a} Answer:"}
    assert "a pair task's template without {text_b}" in refusal(raw)


def test_an_unknown_template_family_is_named_with_the_allowed_ones(raw):
    raw["tasks"]["sst2"]["templates"] = {"mlmx": "{text_a} {mask}"}
    assert (
        refusal(raw) == "tasks.sst2.templates: unknown key 'mlmx' (allowed: default, mlm, seq2seq, causal, embedding)"
    )


def test_bare_yes_and_no_in_yaml_are_named_as_booleans(raw):
    words = yaml.safe_load("[yes, maybe, no]")  # what a user's YAML gives
    assert words == [True, "maybe", False]
    raw["tasks"]["mnli"]["label_words"]["embedding"] = words
    with pytest.raises(ConfigError) as error:
        load_study(raw)
    assert "tasks.mnli.label_words.embedding.0: True is a YAML boolean, not a word" in str(error.value)
    assert 'quote a word ("no")' in str(error.value)


def test_label_words_sharing_their_scored_first_token_are_found_by_the_tiny_tokenizer(raw):
    raw["tasks"]["sst2"]["label_words"]["causal"] = ["very bad", "very good"]
    assert refusal(raw) == (
        "tasks.sst2.label_words.causal (backbone tiny-causal): labels 'negative' and 'positive' share the "
        "scored first token 'very'"
    )


def test_label_words_outside_a_tiny_vocabulary_collide_as_unknown(raw):
    raw["tasks"]["sst2"]["label_words"]["causal"] = ["zyzzyva", "qwxjk"]
    line = refusal(raw)
    assert "share the scored first token '[UNK]'" in line and "extra_words" in line


def test_label_words_two_labels_share_are_refused_for_any_backbone(raw):
    raw["tasks"]["sst2"]["label_words"]["embedding"] = ["great", ["fine", "great"]]
    assert refusal(raw) == (
        "tasks.sst2.label_words.embedding (backbone tiny-embedding): labels 'negative' and 'positive' share "
        "the label word 'great'"
    )


@pytest.mark.workflow
def test_a_bad_template_stops_the_workflow_before_any_job(tmp_path, task_data):
    overlay = tmp_path / "bad.yaml"
    overlay.write_text(yaml.safe_dump({"tasks": {"sst2": {"templates": {"embedding": "It was {mask}."}}}}))
    result = snakemake(tmp_path, "all", configfiles=[overlay], data_dir=task_data, check=False)
    assert result.returncode != 0
    assert "tasks.sst2.templates.embedding (backbone tiny-embedding): template 'It was {mask}.': no text field" in (
        result.stdout + result.stderr
    )
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()


# --- prompts from outside: values and dtype ----------------------------------------------------


@pytest.mark.parametrize(
    "values, message",
    [
        (
            torch.tensor([[0.1, float("nan")], [0.2, 0.3]]),
            r"prompt with 1 NaN or infinite entries of 4 \(the first at \[0, 1\]\)",
        ),
        (torch.tensor([[float("inf"), 0.0], [float("-inf"), 0.3]]), "prompt with 2 NaN or infinite entries of 4"),
        (torch.tensor([[1e300, 0.0]], dtype=torch.float64), "prompt with 1 NaN or infinite entries"),  # past float32
        (torch.ones(2, 2, dtype=torch.int64), "prompt of int64 values, not floating point"),
        (torch.ones(2, 2, dtype=torch.bool), "prompt of bool values, not floating point"),
    ],
)
def test_an_imported_prompt_must_hold_finite_floats(tmp_path, values, message):
    from prompt_transfer import peft_io, prompt_import
    from prompt_transfer.io import save_tensors

    torch_file = tmp_path / "task_prompt.pt"
    torch.save(values, torch_file)
    with pytest.raises(FileFormatError, match=f"^{re.escape(str(torch_file))}: {message}"):
        prompt_import.read("su2022", str(torch_file), 2)

    adapter = tmp_path / "adapter"
    peft_io.export_adapter(
        torch.zeros(values.shape), adapter, peft_io.adapter_config(values.shape[0], 2, "causal", "x"), {}
    )
    save_tensors(adapter / "adapter_model.safetensors", {"prompt_embeddings": values})
    with pytest.raises(FileFormatError, match=f"^{re.escape(str(adapter / 'adapter_model.safetensors'))}: {message}"):
        prompt_import.read("peft", str(adapter), 2)


def test_finite_float_prompts_are_read_as_float32(tmp_path):
    from prompt_transfer import prompt_import

    torch_file = tmp_path / "task_prompt.pt"
    torch.save(torch.tensor([[0.5, -1.0]], dtype=torch.float64), torch_file)
    prompt, facts = prompt_import.read("su2022", str(torch_file), 2)
    assert prompt.dtype == torch.float32 and prompt.tolist() == [[0.5, -1.0]] and facts["shape"] == [1, 2]
