"""Every scorer family on a tiny random model: shapes, read-out positions, truncation,
and that prompt tuning touches nothing but the prompt."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_TRAINING, nli_task, sentiment_task

from prompt_transfer.families import FAMILIES, GENERATIVE_FAMILIES, REGISTRY
from prompt_transfer.generation import GENERATORS
from prompt_transfer.runtime import setup_runtime
from prompt_transfer.scorers import SCORERS, _allocate, _LabelTokenScorer
from prompt_transfer.session import make_scorer
from prompt_transfer.training import train_prompt

FP32 = setup_runtime(threads=2, precision="fp32")


def scorer_for(tiny_backbones, family, task=None, max_length=32, options=None):
    model, tokenizer = tiny_backbones[family]
    return make_scorer(family, model, tokenizer, task or sentiment_task(), max_length, options)


def test_every_family_of_the_registry_has_its_scorers():
    assert list(SCORERS) == list(FAMILIES) and set(GENERATORS) == set(GENERATIVE_FAMILIES)
    for name, family in REGISTRY.items():
        assert issubclass(SCORERS[name], _LabelTokenScorer) == family.scores_label_tokens


@pytest.mark.parametrize("family", FAMILIES)
def test_logits_have_one_column_per_class(tiny_backbones, family, sst2_rows, mnli_rows):
    for task, rows in ((sentiment_task(), sst2_rows), (nli_task(), mnli_rows)):
        scorer = scorer_for(tiny_backbones, family, task)
        batch = scorer.collate(scorer.encode(rows[:8]))
        prompt = scorer.init_prompt(5, "vocab", torch.Generator().manual_seed(0))
        assert prompt.shape == (5, scorer.hidden_size)
        for p in (prompt, None):
            logits = scorer.logits(p, batch)
            assert logits.shape == (8, len(task.labels))
            assert torch.isfinite(logits).all()


@pytest.mark.parametrize("family", FAMILIES)
def test_the_prompt_changes_the_scores(tiny_backbones, family, sst2_rows):
    scorer = scorer_for(tiny_backbones, family)
    batch = scorer.collate(scorer.encode(sst2_rows[:8]))
    g = torch.Generator().manual_seed(0)
    a = scorer.logits(scorer.init_prompt(4, "normal", g, std=1.0), batch)
    b = scorer.logits(scorer.init_prompt(4, "normal", g, std=1.0), batch)
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("family", FAMILIES)
def test_gradients_reach_only_the_prompt(tiny_backbones, family, sst2_rows):
    scorer = scorer_for(tiny_backbones, family)
    batch = scorer.collate(scorer.encode(sst2_rows[:8]))
    prompt = torch.nn.Parameter(scorer.init_prompt(4, "vocab", torch.Generator().manual_seed(0)))
    F.cross_entropy(scorer.logits(prompt, batch), batch.labels).backward()
    assert prompt.grad is not None and prompt.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in scorer.model.parameters())


@pytest.mark.parametrize("family", FAMILIES)
def test_training_leaves_the_backbone_unchanged(tiny_backbones, family, sst2_rows):
    scorer = scorer_for(tiny_backbones, family)
    items = scorer.encode(sst2_rows)
    before = {k: v.clone() for k, v in scorer.model.state_dict().items()}
    init = scorer.init_prompt(4, "vocab", torch.Generator().manual_seed(0))
    settings = replace(TINY_TRAINING, learning_rate=0.1, warmup_steps=0, batch_size=8, max_steps=4, eval_interval=2)
    result = train_prompt(
        scorer, items[:48], items[48:], settings, FP32, init, torch.Generator().manual_seed(0), progress=False
    )
    assert [row["step"] for row in result.log] == [0, 2, 4]
    after = scorer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert result.steps_run == 4 and result.prompt.shape == init.shape


def test_embedding_scorer_pools_the_input_tokens_only(tiny_backbones, sst2_rows):
    """With no prompt the pooled vector is the model's mean-pooled sentence embedding; with a
    prompt, the prompt slots are not part of the mean."""
    scorer = scorer_for(tiny_backbones, "embedding")
    batch = scorer.collate(scorer.encode(sst2_rows[:4]))
    hidden = scorer.model(input_ids=batch.ids, attention_mask=batch.mask).last_hidden_state
    m = batch.mask.unsqueeze(-1).float()
    expected = F.normalize((hidden * m).sum(1) / m.sum(1), dim=-1)
    torch.testing.assert_close(scorer.pooled(None, batch), expected)

    prompt = scorer.init_prompt(3, "vocab", torch.Generator().manual_seed(0))
    embeds, mask, length = scorer.embed(prompt, batch)
    hidden = scorer.model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state[:, length:]
    expected = F.normalize((hidden * m).sum(1) / m.sum(1), dim=-1)
    torch.testing.assert_close(scorer.pooled(prompt, batch), expected)


def test_mlm_reads_the_mask_right_after_the_prompt_or_where_the_template_puts_it(tiny_backbones, sst2_rows):
    model, tokenizer = tiny_backbones["mlm"]
    plain = scorer_for(tiny_backbones, "mlm")
    for x in plain.encode(sst2_rows[:4]):
        assert x.ids[0] == tokenizer.mask_token_id and x.read_index == 0
    task = replace(sentiment_task(), templates={"mlm": "{text_a} it was {mask} ."})
    placed = scorer_for(tiny_backbones, "mlm", task)
    for x in placed.encode(sst2_rows[:4]):
        assert x.ids.count(tokenizer.mask_token_id) == 1
        assert x.read_index == x.ids.index(tokenizer.mask_token_id) > 0


def test_causal_reads_the_last_real_token(tiny_backbones, sst2_rows):
    scorer = scorer_for(tiny_backbones, "causal")
    items = scorer.encode(sst2_rows[:6])
    assert [x.read_index for x in items] == [len(x.ids) - 1 for x in items]


def test_truncation_cuts_the_task_text_and_keeps_the_template(tiny_backbones, task_data):
    from conftest import read_rows

    long_rows = read_rows(task_data / "imdb" / "validation.jsonl", 4)
    task = replace(sentiment_task("imdb"), templates={"causal": "{text_a} so it was"})
    scorer = scorer_for(tiny_backbones, "causal", task, max_length=16)
    tokenizer = tiny_backbones["causal"][1]
    for x in scorer.encode(long_rows):
        assert len(x.ids) <= 16 + 4
        assert tokenizer.convert_ids_to_tokens(x.ids[-2:]) == ["it", "was"]


def test_longest_first_allocation():
    assert _allocate(10, 5, 32) == (10, 5)
    assert _allocate(100, 5, 32) == (27, 5)
    assert _allocate(5, 100, 32) == (5, 27)
    assert _allocate(100, 100, 32) == (16, 16)
    assert _allocate(100, 0, 32) == (32, 0)


def test_label_words_sharing_a_first_token_are_refused(tiny_backbones):
    task = replace(sentiment_task(), label_words=["positive", ["negative", "positive"]])
    with pytest.raises(ValueError, match="share the scored first token"):
        scorer_for(tiny_backbones, "causal", task)


def test_unknown_template_field_is_named(tiny_backbones, sst2_rows):
    task = replace(sentiment_task(), templates={"default": "{sentence}"})
    with pytest.raises(ValueError, match=r"unknown field \{sentence\}"):
        scorer_for(tiny_backbones, "embedding", task).encode(sst2_rows[:2])


@pytest.mark.parametrize("family", FAMILIES)
def test_bf16_training_preparation_keeps_the_logits(tiny_backbones, family, sst2_rows):
    """Training jobs store the frozen Linear weights in bf16, autocast's own rounding of them,
    so the logits stay bit-equal; on CPU attention becomes plain matrix products; fp32 untouched."""
    from prompt_transfer.backbones import build_tiny_model, evaluation_attention, prepare_frozen_backbone

    tokenizer = tiny_backbones[family][1]
    bf16 = setup_runtime(threads=2, precision="bf16")
    models = [
        build_tiny_model(family, len(tokenizer), hidden_size=32, layers=2, heads=2, intermediate_size=64)
        .eval()
        .requires_grad_(False)
        for _ in range(3)
    ]
    reference, prepared, untouched = models
    original_attention = reference.config._attn_implementation
    reference.set_attn_implementation("eager")
    scorers = [make_scorer(family, m, tokenizer, sentiment_task(), 32) for m in (reference, prepared)]
    prepare_frozen_backbone(prepared, bf16)
    prepare_frozen_backbone(untouched, FP32)

    assert prepared.config._attn_implementation == "eager"
    embedding_weights = {id(p) for p in prepared.get_input_embeddings().parameters()}
    linears = [m for m in prepared.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all((m.weight.dtype == torch.bfloat16) != (id(m.weight) in embedding_weights) for m in linears)
    assert prepared.get_input_embeddings().weight.dtype == torch.float32
    assert untouched.config._attn_implementation == original_attention
    assert all(p.dtype == torch.float32 for p in untouched.parameters())

    batch = scorers[0].collate(scorers[0].encode(sst2_rows[:8]))
    prompt = torch.nn.Parameter(scorers[0].init_prompt(4, "vocab", torch.Generator().manual_seed(0)))
    with bf16.autocast():
        expected, logits = (s.logits(prompt, batch) for s in scorers)
    assert torch.equal(expected, logits)
    with evaluation_attention(prepared):  # evaluation during training runs as evaluation jobs do
        assert prepared.config._attn_implementation == original_attention
    assert prepared.config._attn_implementation == "eager"
    F.cross_entropy(logits.float(), batch.labels).backward()
    assert prompt.grad is not None and torch.isfinite(prompt.grad).all() and prompt.grad.abs().sum() > 0
