"""Generation tasks: metrics on hand-made strings, greedy decoding (cap, end-of-sequence, the cache
against a recomputing loop), the teacher-forced loss, rows and config checks, and a tiny study
mixing a classification and a generation task."""

from __future__ import annotations

import html
import json

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import yaml

from conftest import REPO, TINY_LABEL_WORDS, overlay, read_rows, snakemake
from prompt_transfer import metrics
from prompt_transfer.config import load_config
from prompt_transfer.data import read_local_split
from prompt_transfer.errors import ConfigError, DataError
from prompt_transfer.evaluation import stored
from prompt_transfer.transfer import generated_examples
from prompt_transfer.generation import generate_texts, naive_generate
from prompt_transfer.runtime import setup_runtime
from prompt_transfer.session import make_scorer
from prompt_transfer.specs import Task

GENERATIVE = ["causal", "seq2seq"]


# --- metrics --------------------------------------------------------------------------------------


def test_squad_normalisation_and_f1():
    assert metrics.normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert metrics.token_f1("the cat sat", "A cat sat down") == pytest.approx(0.8)  # P 2/2, R 2/3
    assert metrics.token_f1("dog", "cat") == 0.0
    assert metrics.token_f1("the", "an") == 1.0  # both empty once articles go
    assert metrics.token_f1("", "cat") == 0.0


def test_f1_is_the_best_over_gold_answers():
    assert metrics.example_score("f1", "in Paris", ["London", "Paris"]) == pytest.approx(2 / 3)
    assert [metrics.example_score("f1", p, r) for p, r in [("paris", ["Paris."]), ("x", ["y"])]] == [1.0, 0.0]


def test_rouge_l():
    # LCS "the cat on mat": 4 of 6 tokens on each side.
    assert metrics.rouge_l("the cat sat on the mat", "the cat lay on a mat") == pytest.approx(4 / 6)
    assert metrics.rouge_l("Amanda baked cookies.", "amanda baked cookies") == pytest.approx(1.0)
    assert metrics.rouge_l("nothing shared", "all different words") == 0.0
    assert metrics.example_score("rouge_l", "a b c", ["x y", "a b c"]) == pytest.approx(1.0)


# --- decoding -------------------------------------------------------------------------------------


def qa_task(max_new_tokens=6) -> Task:
    return Task("nq_open", "qa", [], [], {}, generation={"metric": "f1", "max_new_tokens": max_new_tokens})


@pytest.fixture(scope="module")
def qa_rows(task_data):
    return read_rows(task_data / "nq_open" / "validation.jsonl", 10)


def generator(tiny_backbones, family, max_new_tokens=6):
    model, tokenizer = tiny_backbones[family]
    return make_scorer(family, model, tokenizer, qa_task(max_new_tokens), max_length=24)


def force_eos(scorer, logit: float):
    """A hook on the LM head that pins end-of-sequence's logit (+: always chosen, -: never)."""

    def hook(module, args, output):
        output[..., scorer.eos_id] = logit
        return output

    return scorer.model.get_output_embeddings().register_forward_hook(hook)


@pytest.mark.parametrize("family", GENERATIVE)
@pytest.mark.parametrize("with_prompt", [False, True])
def test_cached_batched_decoding_matches_the_recomputing_loop(tiny_backbones, qa_rows, family, with_prompt):
    scorer = generator(tiny_backbones, family)
    items = scorer.encode(qa_rows)
    prompt = torch.randn(3, scorer.hidden_size, generator=torch.Generator().manual_seed(0)) if with_prompt else None
    runtime = setup_runtime(1, "fp32")
    texts = generate_texts(scorer, prompt, items, batch_size=4, runtime=runtime)  # ragged batches, padded
    assert texts == scorer.decode([naive_generate(scorer, prompt, x) for x in items])


@pytest.mark.parametrize("family", GENERATIVE)
def test_generation_stops_at_the_cap(tiny_backbones, qa_rows, family):
    scorer = generator(tiny_backbones, family, max_new_tokens=4)
    handle = force_eos(scorer, -1e9)
    try:
        with torch.inference_mode():
            tokens = scorer.generate(None, scorer.collate(scorer.encode(qa_rows)))
    finally:
        handle.remove()
    assert [len(t) for t in tokens] == [4] * len(qa_rows)


@pytest.mark.parametrize("family", GENERATIVE)
def test_generation_stops_at_end_of_sequence(tiny_backbones, qa_rows, family):
    scorer = generator(tiny_backbones, family, max_new_tokens=8)
    calls = []
    handle = force_eos(scorer, 1e9)
    counter = scorer.model.get_output_embeddings().register_forward_hook(lambda *a: calls.append(1))
    try:
        with torch.inference_mode():
            tokens = scorer.generate(None, scorer.collate(scorer.encode(qa_rows)))
    finally:
        handle.remove()
        counter.remove()
    assert tokens == [[]] * len(qa_rows)
    assert len(calls) == 1  # one step: every row ended, nothing more computed


def test_each_row_stops_at_its_own_end_of_sequence(tiny_backbones):
    scorer = generator(tiny_backbones, "causal", max_new_tokens=5)
    eos, vocab = scorer.eos_id, 50
    # Row 0 ends after two tokens, row 1 never; scripted logits per step.
    script = [[7, 8], [9, 8], [eos, 8], [7, 8], [7, 8]]

    def logits_of(step):
        return F.one_hot(torch.tensor(script[step]), vocab).float()

    steps = iter(range(1, 5))
    tokens = scorer._greedy(logits_of(0), lambda token: logits_of(next(steps)))
    assert tokens == [[7, 9], [8, 8, 8, 8, 8]]


# --- training loss --------------------------------------------------------------------------------


def test_targets_are_the_reference_cut_to_the_cap_then_eos(tiny_backbones):
    scorer = generator(tiny_backbones, "seq2seq", max_new_tokens=3)
    short, long = scorer.target_ids(["good", "good bad movie film"])
    assert short == scorer.tokenizer("good", add_special_tokens=False)["input_ids"] + [scorer.eos_id]
    assert len(long) == 3 and scorer.eos_id not in long


@pytest.mark.parametrize("family", GENERATIVE)
def test_loss_covers_exactly_the_target_tokens(tiny_backbones, family):
    """The batched, padded loss equals the mean cross-entropy over the target tokens of each
    example computed alone, without padding."""
    scorer = generator(tiny_backbones, family, max_new_tokens=4)
    rows = [
        {"text_a": "a good movie about a film", "text_b": None, "target": "good bad", "answers": ["good"]},
        {"text_a": "bad", "text_b": None, "target": "a great film of the year", "answers": ["x"]},
    ]
    items = scorer.encode(rows)
    prompt = torch.randn(3, scorer.hidden_size, generator=torch.Generator().manual_seed(1))
    batched = scorer.loss(prompt, scorer.collate(items))
    total, count = 0.0, 0
    for item in items:
        inputs = torch.cat([prompt.unsqueeze(0), scorer.input_embeddings(torch.tensor([item.ids]))], 1)
        target = torch.tensor([item.target])
        if family == "causal":
            sequence = torch.cat([inputs, scorer.input_embeddings(target)], 1)
            logits = scorer.model(inputs_embeds=sequence).logits[0, inputs.shape[1] - 1 : -1]
        else:
            logits = scorer.model(inputs_embeds=inputs, labels=target).logits[0]
        total += F.cross_entropy(logits, target[0], reduction="sum").item()
        count += len(item.target)
    assert batched.item() == pytest.approx(total / count, rel=1e-4)


# --- rows and configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"text_a": "q", "text_b": null, "label": 1}', "no 'target' or 'answers'"),
        ('{"text_a": "q", "text_b": null, "target": "a", "answers": []}', "'answers' must be a non-empty list"),
        ('{"text_a": "q", "text_b": null, "target": " ", "answers": ["a"]}', "'target' must be a non-empty string"),
        ('{"text_a": "", "text_b": null, "target": "a", "answers": ["a"]}', "'text_a' is missing or empty"),
    ],
)
def test_bad_generation_rows_are_named_by_file_and_line(tmp_path, line, message):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text_a": "q", "text_b": null, "target": "a", "answers": ["a", "b"]}\n' + line + "\n")
    with pytest.raises(DataError, match=f"^{path}:2: {message}"):
        read_local_split(path, 0, generation=True)


def test_target_defaults_to_the_first_answer(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text_a": "q", "text_b": null, "answers": ["a", "b"]}\n')
    assert read_local_split(path, 0, generation=True)[0]["target"] == "a"


def registry(**study) -> dict:
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    return {**raw, "study": study}


def test_a_family_that_cannot_generate_refuses_a_generation_task():
    with pytest.raises(ConfigError, match="tasks.samsum: a generation task .* study backbone 'minilm' is 'embedding'"):
        load_config(registry(backbones=["minilm"], tasks=["sst2", "samsum"]))
    load_config(registry(backbones=["smollm2", "t5-base"], tasks=["sst2", "samsum", "squad"]))


def test_a_generation_task_has_no_labels():
    raw = registry(backbones=["smollm2"], tasks=["nq_open"])
    raw["tasks"]["nq_open"]["labels"] = ["a", "b"]
    with pytest.raises(ConfigError, match="tasks.nq_open.labels: a generation task has no labels"):
        load_config(raw)


# --- a study with both kinds of task --------------------------------------------------------------


@pytest.mark.workflow
def test_classification_and_generation_tasks_give_a_complete_matrix(tmp_path, task_data):
    study = {
        "study": {"backbones": ["tiny-causal"], "tasks": ["sst2", "nq_open"]},
        "data": {"train_size": 40, "dev_size": 8, "validation_size": 12},
        "training": {"max_steps": 2, "eval_interval": 2, "batch_size": 4},
        "tasks": {"nq_open": {"training": {"max_length": 32}, "generation": {"metric": "f1", "max_new_tokens": 4}}},
        "backbones": {
            "tiny-causal": {
                "source": {
                    "tiny": {
                        "corpus": ["sst2/train.jsonl", "nq_open/train.jsonl"],
                        "vocab_words": 3000,
                        "extra_words": TINY_LABEL_WORDS,
                    }
                },
                "scorer": "causal",
            }
        },
    }
    snakemake(tmp_path, "results/transfer/tiny-causal/summary.csv", "results/generation_examples.html",
              configfiles=[overlay(tmp_path, "gen.yaml", study)], data_dir=task_data)  # fmt: skip
    matrix = pd.read_csv(tmp_path / "results/transfer/tiny-causal/matrix.csv")
    sources = ["sst2", "nq_open", "no prompt", "random prompt"]
    assert sorted(zip(matrix.source, matrix.target)) == sorted((s, t) for s in sources for t in ["sst2", "nq_open"])
    assert matrix.accuracy.between(0, 1).all()
    assert dict(zip(matrix.target, matrix.metric)) == {"sst2": "accuracy", "nq_open": "f1"}
    assert set(matrix.pair) == {"own", "cross-type", "baseline"}
    metrics_ = json.loads((tmp_path / "results/prompts/tiny-causal/seed0/nq_open.metrics.json").read_text())
    assert metrics_["dev_metric"] == "f1"
    assert set(metrics_["truncated_inputs"]) == {"train", "dev"}

    # Generated text kept: the first examples of each generation pair, and a few in the report's table.
    pair = json.loads((tmp_path / "results/transfer/tiny-causal/seed0/sst2__nq_open.json").read_text())
    validation = read_rows(tmp_path / "results/data/nq_open/validation.jsonl", 12)
    assert len(pair["generated"]) == 12  # all of them: fewer than the default 20
    assert [g["references"] for g in pair["generated"]] == [row["answers"] for row in validation]
    assert stored([g["score"] for g in pair["generated"]]) == pair["example_scores"]
    assert all(g["input"] and isinstance(g["prediction"], str) for g in pair["generated"])
    assert "generated" not in json.loads(
        (tmp_path / "results/transfer/tiny-causal/seed0/nq_open__sst2.json").read_text()
    )
    log = (tmp_path / "results/logs/evaluate_transfer/tiny-causal/seed0/sst2__nq_open.log").read_text()
    assert f"validation: {pair['truncated_inputs']} of 12 inputs cut to max_length 32" in log
    pairs = sorted((tmp_path / "results/transfer/tiny-causal/seed0").glob("*__*.json"))
    shown = generated_examples(pairs)
    assert sorted(set(zip(shown.source, shown.target))) == [("nq_open", "nq_open"), ("sst2", "nq_open")]
    assert list(shown.groupby(["source", "target"]).size()) == [3, 3]
    assert list(shown.columns) == [
        "backbone",
        "seed",
        "source",
        "target",
        "example",
        "f1",
        "prediction",
        "references",
        "input",
    ]
    page = (tmp_path / "results/generation_examples.html").read_text()
    assert page.count("<tr>") == 6 and all(html.escape(text, quote=False) in page for text in shown.input)


@pytest.mark.parametrize("family", GENERATIVE)
def test_neurons_read_a_generation_task_where_its_answer_starts(tiny_backbones, qa_rows, family):
    from prompt_transfer.neurons import prompt_activations, stimulus

    scorer = generator(tiny_backbones, family)
    prompt = torch.randn(3, scorer.hidden_size, generator=torch.Generator().manual_seed(2))
    runtime = setup_runtime(1, "fp32")
    for items in ([stimulus(scorer)], scorer.encode(qa_rows)):
        activations = prompt_activations(scorer, prompt, items, 4, runtime)
        assert activations.shape[0] == 2 and torch.isfinite(activations).all()
