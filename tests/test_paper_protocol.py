"""The authors' protocol as options: their RoBERTa input layout, their T5 templates and loss."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from conftest import TINY_LABEL_WORDS
from prompt_transfer.session import make_scorer
from prompt_transfer.specs import Task

PROMPT_LENGTH = 100  # the authors' prompt length: their text positions start at 102


@pytest.fixture(scope="module")
def tiny_roberta(task_data):
    """A random 2-layer RobertaForMaskedLM (pad id 1, as RoBERTa's: positions count from 2)."""
    import transformers as tf

    from prompt_transfer.backbones import build_tiny_tokenizer
    from prompt_transfer.tiny_tokenizer import corpus_words

    words = [w for w, _ in corpus_words([task_data / "sst2" / "train.jsonl"]).most_common(500)]
    tokenizer = build_tiny_tokenizer(words + TINY_LABEL_WORDS, "mlm")
    torch.manual_seed(0)
    config = tf.RobertaConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=PROMPT_LENGTH + 2 + 160, pad_token_id=1, hidden_dropout_prob=0.3,
        attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    model = tf.RobertaForMaskedLM(config)
    model.requires_grad_(False)
    model.eval()
    return model, tokenizer


def authors_scorer(model, tokenizer):
    task = Task("sst2", "sentiment", ["negative", "positive"], ["negative", "positive"])
    return make_scorer("mlm", model, tokenizer, task, 64, {"layout": "authors"})


def reference_embeddings(model, tokenizer, prompt, ids):
    """The authors' embedding layer, written from their formulas (`modelling_roberta.py`):
    slot 0 = the <mask> word embedding, zero position embedding on the 100 prompt slots, text
    position ids from 102, token type 0, LayerNorm, no dropout."""
    emb = model.roberta.embeddings
    slots = prompt.clone()
    slots[0] = emb.word_embeddings.weight[tokenizer.mask_token_id]
    inputs = torch.cat([slots, emb.word_embeddings(ids)])
    text_positions = torch.arange(102, 102 + len(ids))
    positions = torch.cat([torch.zeros(PROMPT_LENGTH, inputs.shape[1]), emb.position_embeddings(text_positions)])
    return emb.LayerNorm(inputs + positions + emb.token_type_embeddings.weight[0])


def reference_hidden(model, embeddings: torch.Tensor) -> torch.Tensor:
    """The unmodified encoder run on the given embedding output (the embedding module bypassed)."""
    emb = model.roberta.embeddings
    original = emb.forward
    emb.forward = lambda *args, **kwargs: embeddings.unsqueeze(0)
    try:
        n = embeddings.shape[0]
        return model.roberta(
            input_ids=torch.zeros(1, n, dtype=torch.long), attention_mask=torch.ones(1, n)
        ).last_hidden_state[0]
    finally:
        emb.forward = original


def one_example(scorer, rows):
    items = scorer.encode(rows[:1])
    return items, scorer.collate(items)


def test_authors_layout_equals_the_reference_computation(tiny_roberta, sst2_rows):
    model, tokenizer = tiny_roberta
    scorer = authors_scorer(model, tokenizer)
    items, batch = one_example(scorer, sst2_rows)
    assert tokenizer.mask_token_id not in items[0].ids  # the mask lives in prompt slot 0, not in the text
    prompt = torch.randn(PROMPT_LENGTH, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected_hidden = reference_hidden(model, reference_embeddings(model, tokenizer, prompt, batch.ids[0]))
        hidden = scorer._authors_hidden(prompt, batch)[0]
        torch.testing.assert_close(hidden, expected_hidden, rtol=1e-5, atol=1e-5)
        # read-out at position 0 (the mask slot), MLM head at the label words' ids
        expected = model.lm_head(expected_hidden[:1])[:, scorer.label_token_ids]
        torch.testing.assert_close(scorer.logits(prompt, batch), expected, rtol=1e-5, atol=1e-5)
        # prompt row 0's value is never used
        other = prompt.clone()
        other[0] = 100.0
        torch.testing.assert_close(scorer.logits(other, batch), scorer.logits(prompt, batch))


def test_authors_layout_gradients_reach_all_prompt_rows_as_in_their_code(tiny_roberta, sst2_rows):
    """Their `.data` write keeps autograd's path to row 0: row 0 gets the gradient of position 0."""
    model, tokenizer = tiny_roberta
    scorer = authors_scorer(model, tokenizer)
    _, batch = one_example(scorer, sst2_rows)
    init = torch.randn(PROMPT_LENGTH, 32, generator=torch.Generator().manual_seed(2))
    prompt = init.clone().requires_grad_(True)
    scorer.loss(prompt, batch).backward()
    assert (prompt.grad.abs().sum(1) > 0).all()  # all 100 rows, row 0 included

    # reference: the gradient of the loss with respect to the embedding input at each slot
    emb = model.roberta.embeddings
    slots = init.clone()
    slots[0] = emb.word_embeddings.weight[tokenizer.mask_token_id]
    slots.requires_grad_(True)
    inputs = torch.cat([slots, emb.word_embeddings(batch.ids[0])])
    positions = torch.cat(
        [torch.zeros(PROMPT_LENGTH, 32), emb.position_embeddings(torch.arange(102, 102 + batch.ids.shape[1]))]
    )
    hidden = reference_hidden(model, emb.LayerNorm(inputs + positions + emb.token_type_embeddings.weight[0]))
    logits = model.lm_head(hidden[:1])[:, scorer.label_token_ids]
    torch.nn.functional.cross_entropy(logits, batch.labels).backward()
    torch.testing.assert_close(prompt.grad, slots.grad, rtol=1e-4, atol=1e-6)


def test_authors_layout_trains_with_encoder_dropout_and_no_embedding_dropout(tiny_roberta, sst2_rows):
    model, tokenizer = tiny_roberta
    scorer = authors_scorer(model, tokenizer)
    _, batch = one_example(scorer, sst2_rows)
    prompt = torch.randn(PROMPT_LENGTH, 32, generator=torch.Generator().manual_seed(3))
    layer_inputs = []
    first_layer = model.roberta.encoder.layer[0]
    handle = first_layer.register_forward_pre_hook(
        lambda module, args, kwargs: layer_inputs.append((args[0] if args else kwargs["hidden_states"]).detach()),
        with_kwargs=True,
    )
    try:
        with torch.no_grad(), scorer.training_forward():
            assert model.training
            a, b = scorer.logits(prompt, batch), scorer.logits(prompt, batch)
    finally:
        handle.remove()
    assert not model.training  # back to eval after the training step
    assert not torch.equal(a, b)  # the encoder's dropout was active
    expected = reference_embeddings(model, tokenizer, prompt, batch.ids[0])
    for embedded in layer_inputs:  # ... but not on the embeddings
        torch.testing.assert_close(embedded[0], expected, rtol=1e-5, atol=1e-5)


def test_default_layout_is_unchanged_mask_after_prompt(tiny_roberta, sst2_rows):
    model, tokenizer = tiny_roberta
    task = Task("sst2", "sentiment", ["negative", "positive"], ["negative", "positive"])
    scorer = make_scorer("mlm", model, tokenizer, task, 64)
    items = scorer.encode(sst2_rows[:1])
    assert items[0].ids[0] == tokenizer.mask_token_id and items[0].read_index == 0
    with scorer.training_forward():
        assert not model.training


def test_label_token_ids_can_be_given_and_are_recorded(tiny_roberta):
    model, tokenizer = tiny_roberta
    task = Task("ethics_justice", "ethics", ["unreasonable", "reasonable"], [7, "positive"])
    scorer = make_scorer("mlm", model, tokenizer, task, 64, {"layout": "authors"})
    scored = scorer.scored_labels()
    assert scored["unreasonable"]["token_ids"] == [7]
    assert scored["unreasonable"]["tokens"] == tokenizer.convert_ids_to_tokens([7])
    assert scored["reasonable"] == {"token_ids": [tokenizer.convert_tokens_to_ids("positive")], "tokens": ["positive"]}


# --- budgets and initialisation ----------------------------------------------------------------


def test_an_epoch_budget_becomes_steps_with_one_evaluation_per_epoch():
    from conftest import TINY_TRAINING
    from prompt_transfer.training import loop_settings, with_step_budget

    assert with_step_budget(TINY_TRAINING, 1000) is TINY_TRAINING  # no epochs: max_steps as set
    # SST-2 on roberta-base: 67,349 rows, batch 16, 76 epochs -> 4,209 steps per epoch
    paper = dataclasses.replace(TINY_TRAINING, epochs=76, batch_size=16, adam_eps=1e-6, grad_clip=0.0)
    budget = with_step_budget(paper, 67_349)
    assert (budget.max_steps, budget.eval_interval) == (76 * 4_209, 4_209)
    assert with_step_budget(dataclasses.replace(paper, epochs=3), 10).max_steps == 3  # fewer rows than a batch
    assert (loop_settings(budget).adam_eps, loop_settings(budget).grad_clip) == (1e-6, 0.0)
    assert loop_settings(TINY_TRAINING).adam_eps == 1e-8


def test_shared_init_starts_every_task_of_a_backbone_from_one_prompt(tiny_backbones):
    from conftest import TINY, TINY_TRAINING
    from prompt_transfer.specs import TrainJob
    from prompt_transfer.training import initial_prompt

    model, tokenizer = tiny_backbones["embedding"]
    sst2 = Task("sst2", "sentiment", ["negative", "positive"], ["bad", "good"])
    imdb = Task("imdb", "sentiment", ["neg", "pos"], ["bad", "good"])
    scorer = make_scorer("embedding", model, tokenizer, sst2, 32)

    def init(task, settings, backbone=TINY):
        return initial_prompt(TrainJob(backbone, task, settings), scorer)[0]

    shared = dataclasses.replace(TINY_TRAINING, shared_init=True)
    torch.testing.assert_close(init(sst2, shared), init(imdb, shared))
    assert not torch.equal(init(sst2, TINY_TRAINING), init(imdb, TINY_TRAINING))  # the default: one per task
    other_backbone = dataclasses.replace(TINY, name="tiny-2")
    assert not torch.equal(init(sst2, shared), init(sst2, shared, other_backbone))


def test_the_authors_uniform_random_baseline_sits_next_to_the_default_one(tmp_path):
    from prompt_transfer.io import write_json
    from prompt_transfer.transfer import transfer_matrix, transfer_summary

    types = {"a": "x", "b": "x"}
    pairs, baselines = [], []
    for target in types:
        for source in types:
            pairs.append(tmp_path / "seed0" / f"{source}_{target}.json")
            write_json(pairs[-1], {"backbone": "m", "source": source, "target": target, "accuracy": 0.8,
                                   "example_scores": "1111111100", "examples": 10})  # fmt: skip
        baselines.append(tmp_path / f"base_{target}.json")
        write_json(baselines[-1], {"backbone": "m", "target": target, "examples": 10,
                                   "no_prompt": 0.5, "no_prompt_example_scores": "1111100000",
                                   "random_mean": 0.55, "random_example_scores": ["1111100000", "1111110000"],
                                   "uniform_random_mean": 0.4, "uniform_random_example_scores": ["1111000000"]})  # fmt: skip
    matrix, _ = transfer_matrix(pairs, baselines, types)
    assert set(matrix[matrix.pair == "baseline"].source) == {"no prompt", "random prompt", "uniform random prompt"}
    summary = transfer_summary(matrix)
    assert summary.loc[summary.target == "a", "uniform_random_prompt"].item() == 0.4


# --- the paper's study files -------------------------------------------------------------------

STUDY_TASKS = ["imdb", "sst2", "laptop", "restaurant", "movierationales", "tweeteval_sentiment", "mnli", "qnli",
               "snli", "ethics_deontology", "ethics_justice", "qqp", "mrpc"]  # fmt: skip


def study_config(name: str):
    """config.yaml with a study file layered over it, as `snakemake --configfile` merges them."""
    from snakemake.utils import update_config

    from conftest import REPO
    from prompt_transfer.config import load_config, read_yaml_file
    from prompt_transfer.study import Study

    config = read_yaml_file(REPO / "config.yaml")
    update_config(config, read_yaml_file(REPO / "studies" / f"{name}.yaml"))
    return Study.from_config(load_config(config))


def authors_t5_input(task: str, row: dict) -> str:
    """The encoder string of the authors' <Task>PromptT5Formatter.py for one row (prompt slots left
    out): their sent/sent1/sent2 are our text_a/text_b (NLI: hypothesis first, as their loaders)."""
    a, b = row["text_a"], row["text_b"]
    if task == "imdb":
        return a  # no </s>
    if task in ("sst2", "movierationales", "tweeteval_sentiment"):
        return a + "</s>"
    if task in ("laptop", "restaurant"):
        return a + " " + b + "</s>"  # one segment: sentence + " " + aspect
    if task in ("mnli", "snli"):
        return "hypothesis: " + b + " [SEP] sentence: " + "premise: " + a  # no </s>
    if task == "qnli":
        return "hypothesis: " + a + " [SEP] sentence: " + "premise: " + b
    if task == "ethics_deontology":
        return a + " " + b  # the two segments' tokens concatenated, no </s>
    if task == "ethics_justice":
        return a
    return a + " <extra_id_0> " + b + "</s>"  # qqp, mrpc


def test_t5_study_renders_the_authors_encoder_string_for_every_task(task_data, tiny_backbones):
    from prompt_transfer import specs

    from conftest import read_rows

    config = study_config("t5-base")
    model, tokenizer = tiny_backbones["seq2seq"]
    for name in STUDY_TASKS:
        row = read_rows(task_data / name / "train.jsonl", 1)[0]
        job = specs.train_job(config, "t5-base", name)
        # the tiny vocabulary lacks some label words; the template is what is tested here
        task = dataclasses.replace(job.task, label_words=TINY_LABEL_WORDS[: len(job.task.labels)])
        scorer = make_scorer("seq2seq", model, tokenizer, task, 10_000, job.backbone.scorer_options)
        assert scorer.render([row]) == [authors_t5_input(name, row)], name
        # no special token added beyond the template's own </s>
        assert (
            scorer.encode([row])[0].ids == tokenizer(authors_t5_input(name, row), add_special_tokens=False)["input_ids"]
        )
        assert job.task.target_tokens == (2 if name in ("mnli", "qnli", "snli") else None), name


def test_t5_authors_loss_is_the_decoder_cross_entropy_on_the_target_tokens(tiny_backbones, sst2_rows):
    import torch.nn.functional as F

    model, tokenizer = tiny_backbones["seq2seq"]
    task = Task("mnli", "nli", ["entailment", "neutral", "contradiction"], ["yes no", "neutral", "no"], target_tokens=2)
    scorer = make_scorer("seq2seq", model, tokenizer, task, 32, {"layout": "authors", "loss": "authors"})
    rows = [{"text_a": r["text_a"], "text_b": "x", "label": i % 3} for i, r in enumerate(sst2_rows[:3])]
    batch = scorer.collate(scorer.encode(rows))
    prompt = torch.randn(4, 32)
    targets = scorer.target_ids[batch.labels]
    assert targets.tolist()[0] == tokenizer("yes no", add_special_tokens=False)["input_ids"]  # two tokens
    assert targets.tolist()[1][1] == -100  # one-token word, padded
    embeds, mask, _ = scorer.embed(prompt, batch)
    start = torch.full((3, 1), model.config.decoder_start_token_id)
    decoder_inputs = torch.cat([start, targets[:, :1].clamp(min=0)], dim=1)
    logits = model(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=decoder_inputs).logits
    expected = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
    torch.testing.assert_close(scorer.loss(prompt, batch), expected)
    default = make_scorer("seq2seq", model, tokenizer, task, 32)
    torch.testing.assert_close(
        default.loss(prompt, batch), F.cross_entropy(default.logits(prompt, batch), batch.labels)
    )


@pytest.mark.parametrize("name", ["roberta-base", "roberta-large", "t5-base"])
def test_paper_study_sets_the_authors_values(name):
    from prompt_transfer import specs

    config = study_config(name)
    assert config.tasks[:13] == STUDY_TASKS  # t5-base: and the four generation tasks
    assert config.task("ethics_deontology").hub["splits"]["validation"] == "validation"  # not test_hard
    jobs = {t: specs.train_job(config, name, t) for t in STUDY_TASKS}
    for job in jobs.values():
        t = job.training
        assert (t.adam_eps, t.grad_clip, t.shared_init, t.precision, t.prompt_length) == (1e-6, 0.0, True, "fp32", 100)
        assert job.backbone.scorer_options["layout"] == "authors"
    epochs = [jobs[t].training.epochs for t in STUDY_TASKS]
    expected = {
        "roberta-base": [72, 76, 1280, 300, 128, 128, 128, 128, 64, 128, 128, 96, 72],
        "roberta-large": [300, 72, 300, 330, 1280, 128, 128, 128, 32, 300, 300, 52, 300],
        "t5-base": [200, 200, 500, 300, 200, 200, 200, 100, 200, 200, 200, 200, 200],
    }[name]
    assert epochs == expected
    if name == "roberta-base":
        assert jobs["mrpc"].training.batch_size == 8
        assert jobs["ethics_deontology"].task.label_words == [897, "acceptable"]
    if name == "t5-base":
        assert {t: j.training.learning_rate for t, j in jobs.items() if j.training.learning_rate != 0.005} == {
            "laptop": 0.01, "qnli": 0.01, "snli": 0.01
        }  # fmt: skip


# --- the authors' T5 generation formats -------------------------------------------------------------

GENERATION_TASKS = ["squad", "nq_open", "multi_news", "samsum"]
# The authors' <task>PromptT5.config: target_len, and generate's min_length / max_length (which count
# the decoder's start token).
AUTHORS_GENERATION = {
    "squad": {"target_len": 20, "min_length": 2, "max_length": 10},
    "nq_open": {"target_len": 20, "min_length": 3, "max_length": 10},
    "multi_news": {"target_len": 30, "min_length": 2, "max_length": 50},
    "samsum": {"target_len": 50, "min_length": 2, "max_length": 50},
}


def authors_generation_string(task: str, row: dict) -> str:
    """The string their <task>PromptT5Formatter.py tokenizes (context/question as their loaders)."""
    if task == "squad":
        return "context: " + row["text_a"] + " SEP " + "question:" + row["text_b"]
    if task == "multi_news":
        return row["text_a"]
    return "context: " + row["text_a"]  # nq_open (the question), samsum (the dialogue)


def authors_generation_batch(task, rows, tokenizer, max_len, target_len, prompt_num):
    """Their formatter's process(), step by step: the prompt slots as ids -1..-prompt_num, the text's
    tokens cut to max_len (no </s>), everything padded to max_len + 2 + prompt_num; the target's
    tokens cut to target_len (no </s>), padded with -100. (Their mask is all ones after padding, and
    their training forward passes none, so T5 attends everywhere.)"""
    width = max_len + 2 + prompt_num
    inputs, labels = [], []
    for row in rows:
        sent = tokenizer.encode(authors_generation_string(task, row), add_special_tokens=False)
        if len(sent) >= max_len:
            sent = sent[:max_len]
        tokens = [-(i + 1) for i in range(prompt_num)] + sent
        inputs.append(tokens + [tokenizer.pad_token_id] * (width - len(tokens)))
        target = tokenizer.encode(row["target"], add_special_tokens=False)[:target_len]
        labels.append(target + [-100] * (target_len - len(target)))
    return torch.tensor(inputs), torch.tensor(labels)


def authors_t5_embeddings(model, prompt, inputx):
    """Their T5Stack's input embeddings: negative ids read prompt rows, the others the vocabulary."""
    text = model.get_input_embeddings()(inputx * (inputx >= 0)) * (inputx >= 0).unsqueeze(2)
    prompt_ids = -(inputx + 1)
    return text + prompt[prompt_ids * (prompt_ids >= 0)] * (prompt_ids >= 0).unsqueeze(2)


@pytest.fixture(scope="module")
def generation_rows(task_data):
    """Rows of each generation task: nq_open and samsum from the sample; SQuAD and Multi-News (not in
    the bundle) made of a dialogue as context/documents and a question, with long ones to cut."""
    from conftest import read_rows

    questions = read_rows(task_data / "nq_open" / "train.jsonl", 3)
    dialogues = read_rows(task_data / "samsum" / "train.jsonl", 3)
    squad = [
        {"text_a": d["text_a"], "text_b": q["text_a"], "target": q["target"], "answers": q["answers"]}
        for q, d in zip(questions, dialogues)
    ]
    squad[0] = {**squad[0], "text_a": "the short context"}  # whole question kept
    news = [{**d, "text_a": d["text_a"] + " ||||| " + q["text_a"]} for q, d in zip(questions, dialogues)]
    long_question = {**questions[2], "text_a": " ".join([questions[2]["text_a"]] * 3)}
    return {"squad": squad, "nq_open": questions[:2] + [long_question], "multi_news": news, "samsum": dialogues}


@pytest.mark.parametrize("name", GENERATION_TASKS)
def test_t5_study_formats_generation_tasks_as_the_authors_formatter(name, tiny_backbones, generation_rows):
    from prompt_transfer import specs
    from prompt_transfer.scorers import seq2seq_training_inputs

    model, tokenizer = tiny_backbones["seq2seq"]
    job = specs.train_job(study_config("t5-base"), "t5-base", name)
    max_len, target_len, prompt_num = 16, AUTHORS_GENERATION[name]["target_len"], 4  # short: inputs get cut
    scorer = make_scorer("seq2seq", model, tokenizer, job.task, max_len, job.backbone.scorer_options)
    rows = generation_rows[name]
    inputx, labels = authors_generation_batch(name, rows, tokenizer, max_len, target_len, prompt_num)
    items = scorer.encode(rows)
    # encoder tokens: their string, cut to max_len, no </s>; targets: cut to target_len, no </s>
    assert [x.ids for x in items] == [[t for t in row[prompt_num:].tolist() if t != 0] for row in inputx]
    assert [x.target for x in items] == [[t for t in row.tolist() if t != -100] for row in labels]
    assert any(len(x.ids) == max_len for x in items)  # some input was cut
    if name == "squad":  # the question is cut off a long context, as theirs
        assert scorer.render(rows[:1]) == [authors_generation_string("squad", rows[0])]
        before_question = tokenizer.encode("context: " + rows[1]["text_a"] + " SEP", add_special_tokens=False)
        assert len(before_question) >= max_len
    # a training step's encoder input: their width (prompt + max_len + 2), their embeddings, no mask
    torch.manual_seed(0)
    prompt = torch.randn(prompt_num, model.config.d_model)
    batch = scorer.collate(items)
    embeds, mask = seq2seq_training_inputs(scorer, prompt, batch)
    torch.testing.assert_close(embeds, authors_t5_embeddings(model, prompt, inputx))
    assert mask.eq(1).all()
    # their loss: T5's own cross-entropy on the -100-padded labels, no attention mask
    expected = model(inputs_embeds=authors_t5_embeddings(model, prompt, inputx), labels=labels).loss
    torch.testing.assert_close(scorer.loss(prompt, batch), expected)


def test_t5_study_decodes_generation_tasks_with_the_authors_settings():
    from prompt_transfer import specs

    config = study_config("t5-base")
    assert config.tasks == STUDY_TASKS + GENERATION_TASKS
    for name in GENERATION_TASKS:
        job = specs.train_job(config, "t5-base", name)
        authors = AUTHORS_GENERATION[name]
        assert job.task.generation["max_new_tokens"] == authors["max_length"] - 1, name
        assert job.task.generation["min_new_tokens"] == authors["min_length"] - 1, name
        assert job.task.target_tokens == authors["target_len"], name
        assert job.task.truncation == "rendered"
        assert job.task.generation["metric"] == ("f1" if name in ("squad", "nq_open") else "rouge_l")
        t = job.training
        assert (t.epochs, t.learning_rate, t.batch_size, t.max_length, t.prompt_length) == (200, 0.005, 16, 384, 100)
    options = specs.train_job(config, "t5-base", "sst2").backbone.scorer_options
    assert options["attend_padding"] is True and options["target_eos"] is False


def test_attend_padding_pads_classification_inputs_to_their_width(tiny_backbones, sst2_rows):
    from prompt_transfer.scorers import seq2seq_training_inputs

    model, tokenizer = tiny_backbones["seq2seq"]
    task = dataclasses.replace(Task("sst2", "sentiment", ["n", "p"], TINY_LABEL_WORDS[:2]))
    options = {"layout": "authors", "loss": "authors", "attend_padding": True}
    scorer = make_scorer("seq2seq", model, tokenizer, task, 128, options)
    batch = scorer.collate(scorer.encode(sst2_rows[:3]))
    embeds, mask = seq2seq_training_inputs(scorer, torch.zeros(5, model.config.d_model), batch)
    assert embeds.shape[1] == 5 + 128 + 2 and mask.eq(1).all()  # SST2PromptT5Formatter: max_len + 2 + prompt_num
    plain = make_scorer("seq2seq", model, tokenizer, task, 128, {"layout": "authors"})
    embeds, mask = seq2seq_training_inputs(plain, torch.zeros(5, model.config.d_model), batch)
    assert embeds.shape[1] == 5 + batch.ids.shape[1] and torch.equal(mask[:, 5:], batch.mask)


def test_t5_authors_layout_trains_with_dropout(tiny_backbones, generation_rows):
    from prompt_transfer import specs

    model, tokenizer = tiny_backbones["seq2seq"]
    job = specs.train_job(study_config("t5-base"), "t5-base", "samsum")
    for task in (job.task, Task("sst2", "sentiment", ["n", "p"], TINY_LABEL_WORDS[:2])):
        scorer = make_scorer("seq2seq", model, tokenizer, task, 32, {"layout": "authors"})
        with scorer.training_forward():
            assert model.training  # their training loop calls model.train(): T5's dropout is on
        assert not model.training
        with make_scorer("seq2seq", model, tokenizer, task, 32).training_forward():
            assert not model.training


def test_min_new_tokens_holds_back_end_of_sequence(tiny_backbones):
    from prompt_transfer import specs

    model, tokenizer = tiny_backbones["seq2seq"]
    task = specs.train_job(study_config("t5-base"), "t5-base", "nq_open").task  # min_new_tokens 2
    scorer = make_scorer("seq2seq", model, tokenizer, task, 32)
    logits = torch.zeros(2, len(tokenizer))
    logits[:, scorer.eos_id], logits[:, 7], logits[1, 9] = 3.0, 2.0, 2.5  # EOS first, then 7 (row 1: 9)
    assert scorer._greedy(logits, lambda token: logits) == [[7, 7], [9, 9]]
    scorer.min_new_tokens = 0
    assert scorer._greedy(logits, lambda token: logits) == [[], []]


def test_the_authors_bleu_on_hand_computed_pieces():
    from prompt_transfer import metrics

    # p1 = 3/3, p2 = 2/2, brevity penalty exp(1 - 4/3)
    assert metrics.authors_bleu(["▁the", "▁cat", "▁sat"], ["▁the", "▁cat", "▁sat", "▁down"]) == pytest.approx(
        math.exp(-1 / 3)
    )
    # p1 = 1/2, no bigram matches: smoothed to 0.1/1; brevity exp(1 - 3/2)
    assert metrics.authors_bleu(["a", "b"], ["a", "c", "d"]) == pytest.approx(0.5**0.7 * 0.1**0.3 * math.exp(-0.5))
    assert metrics.authors_bleu(["x"], ["a"]) == 0.0 and metrics.authors_bleu([], ["a"]) == 0.0
    # p1 = 2/3, p2 = 1/2, longer than the reference: no brevity penalty
    assert metrics.authors_bleu(["a", "b", "c"], ["a", "b"]) == pytest.approx((2 / 3) ** 0.7 * 0.5**0.3)


def test_bleu_authors_scores_written_tokens_against_the_cut_target(tiny_backbones, generation_rows):
    from prompt_transfer import metrics, specs
    from prompt_transfer.generation import generate_tokens, scored_texts
    from prompt_transfer.runtime import setup_runtime

    model, tokenizer = tiny_backbones["seq2seq"]
    task = specs.train_job(study_config("t5-base"), "t5-base", "samsum").task
    task = dataclasses.replace(task, generation={**task.generation, "metric": "bleu_authors"}, target_tokens=3)
    scorer = make_scorer("seq2seq", model, tokenizer, task, 64, {"layout": "authors", "target_eos": False})
    items = scorer.encode(generation_rows["samsum"])
    runtime = setup_runtime(1, "fp32")
    written = generate_tokens(scorer, None, items, 2, runtime)
    pieces = tokenizer.convert_ids_to_tokens
    expected = [metrics.authors_bleu(pieces(w), pieces(x.target)) for w, x in zip(written, items)]
    assert all(len(x.target) == 3 for x in items)
    assert scored_texts(scorer, None, items, 2, runtime)[0] == pytest.approx(expected)
