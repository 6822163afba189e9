"""Generation tasks (QA, summarisation): a soft prompt in front of the templated input makes a
`causal` or `seq2seq` backbone write the answer.

- Training: teacher-forced cross-entropy on exactly the target tokens (the reference cut to the
  task's `target_tokens`, default `max_new_tokens`, then end-of-sequence when it fits; scorer
  option `target_eos: false` leaves it out, as the authors' T5 formatters), given the prompt and
  the input.
- Evaluation: batched greedy decoding with the key/value cache, `max_new_tokens` at most, each
  row stopping at end-of-sequence (not before `min_new_tokens`); the text before it is scored
  with the task's metric (metrics.py; `bleu_authors` on the tokens themselves).

Layouts. causal: `[prompt, left padding, input, target]`, with position ids that skip the
padding, so every row computes what it would alone. The prompt comes first in every row, so its
keys and values are computed once per evaluation (batch size 1) and repeated over each batch's
rows. seq2seq: the encoder reads `[prompt, input, right padding]` once per batch (it attends in
both directions, so the prompt's work cannot be shared), and the decoder runs one token per step
from its cache.

The scorers here subclass scorers.Scorer (templates, truncation, the prompt in front) and are made
by session.make_scorer for a task with `generation` settings.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .families import GENERATIVE_FAMILIES
from .metrics import TOKEN_METRICS, example_score, token_score
from .scorers import Scorer, seq2seq_training_forward, seq2seq_training_inputs
from .specs import Task


@dataclass
class GenerationItem:
    """One tokenised example of a generation task."""

    ids: list[int]  # the templated input
    target: list[int]  # the tokens the loss covers
    answers: list[str]  # every reference the metric accepts
    label: int = -1  # no class (the classification paths sort and batch by `ids` only)
    read_index: int = 0
    truncated: bool = False  # its text was cut to the scorer's max_length


@dataclass
class GenerationBatch:
    ids: torch.Tensor  # [B, W] inputs, padded on the family's side
    mask: torch.Tensor  # [B, W]
    target: torch.Tensor  # [B, T] targets, right-padded
    target_mask: torch.Tensor  # [B, T]
    read_index: torch.Tensor  # [B] the last input token's position (the first answer token's read-out)

    def to(self, device) -> "GenerationBatch":
        return GenerationBatch(
            *(t.to(device) for t in (self.ids, self.mask, self.target, self.target_mask, self.read_index))
        )

    def __len__(self) -> int:
        return self.ids.shape[0]


class _GenerativeScorer(Scorer):
    generates = True
    pad_left = False
    target_prefix = ""

    def __init__(self, model, tokenizer, task: Task, max_length: int, options: dict | None = None):
        super().__init__(model, tokenizer, task, max_length, options)
        self.max_new_tokens = task.generation["max_new_tokens"]
        self.min_new_tokens = task.generation.get("min_new_tokens", 0)
        self.target_tokens = task.target_tokens or self.max_new_tokens
        self.target_eos = self.options.get("target_eos", True)
        self.metric = task.generation["metric"]
        eos = tokenizer.eos_token_id
        self.eos_id = eos if eos is not None else model.config.eos_token_id

    def scored_labels(self) -> dict[str, dict]:
        """No labels: a generation task scores the text it writes (training jobs record this)."""
        return {}

    def target_ids(self, texts: list[str]) -> list[list[int]]:
        """The reference cut to target_tokens, then end-of-sequence when the cap leaves room
        (unless `target_eos: false`)."""
        encoded = self.tokenizer([self.target_prefix + t for t in texts], add_special_tokens=False)["input_ids"]
        cap = self.target_tokens
        return [ids[:cap] + [self.eos_id] * (self.target_eos and len(ids) < cap) for ids in encoded]

    def encode(self, rows: list[dict]) -> list[GenerationItem]:
        ids, cuts = self.input_ids(rows)
        targets = self.target_ids([r.get("target", "") for r in rows])
        return [
            GenerationItem(i, t, r.get("answers", []), truncated=cut) for i, t, r, cut in zip(ids, targets, rows, cuts)
        ]

    def collate(self, items) -> GenerationBatch:
        width = max(len(x.ids) for x in items)
        target_width = max(1, max(len(getattr(x, "target", [])) for x in items))
        ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        target = torch.full((len(items), target_width), self.pad_id, dtype=torch.long)
        target_mask = torch.zeros((len(items), target_width), dtype=torch.long)
        read = torch.zeros(len(items), dtype=torch.long)
        for row, x in enumerate(items):
            n = len(x.ids)
            span = slice(width - n, width) if self.pad_left else slice(0, n)
            ids[row, span], mask[row, span] = torch.tensor(x.ids), 1
            read[row] = span.stop - 1
            t = getattr(x, "target", [])
            target[row, : len(t)], target_mask[row, : len(t)] = torch.tensor(t, dtype=torch.long), 1
        return GenerationBatch(ids, mask, target, target_mask, read)

    def decode(self, tokens: list[list[int]]) -> list[str]:
        return [text.strip() for text in self.tokenizer.batch_decode(tokens, skip_special_tokens=True)]

    def prefix(self, prompt: torch.Tensor | None):
        """The prompt's work that every batch shares (None: nothing to share)."""
        return None

    def _greedy(self, first_logits: torch.Tensor, next_logits) -> list[list[int]]:
        """Greedy tokens per row, at most max_new_tokens, each row ending before its first EOS;
        `next_logits(tokens)` feeds one token per row and returns the next step's logits."""
        rows = first_logits.shape[0]
        done = torch.zeros(rows, dtype=torch.bool, device=first_logits.device)
        steps, logits = [], first_logits
        for step in range(self.max_new_tokens):
            if step < self.min_new_tokens:  # end-of-sequence is not a choice yet
                logits = logits.index_fill(-1, torch.tensor([self.eos_id], device=logits.device), float("-inf"))
            token = logits.argmax(-1).masked_fill(done, self.eos_id)
            steps.append(token)
            done |= token == self.eos_id
            if done.all() or step == self.max_new_tokens - 1:
                break
            logits = next_logits(token)
        out = []
        for row in torch.stack(steps, 1).tolist():
            out.append(row[: row.index(self.eos_id)] if self.eos_id in row else row)
        return out


class CausalGenerator(_GenerativeScorer):
    family = "causal"
    pad_left = True  # inputs end together, so every row's next token is read at the last position

    def __init__(self, model, tokenizer, task, max_length, options=None):
        super().__init__(model, tokenizer, task, max_length, options)
        self.target_prefix = self.options.get("label_word_prefix", " ")
        self.head = model.get_output_embeddings()

    def _hidden(self, embeds, mask, positions, cache=None):
        out = self.model.base_model(
            inputs_embeds=embeds, attention_mask=mask, position_ids=positions, cache=cache, use_cache=cache is not None
        )
        return out.last_hidden_state

    @staticmethod
    def _positions(mask: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Position ids that count only real tokens (padding repeats its neighbour's)."""
        return start + (mask.cumsum(1) - 1).clamp(min=0)

    def loss(self, prompt: torch.Tensor | None, batch: GenerationBatch) -> torch.Tensor:
        embeds, mask, _ = self.embed(prompt, batch)
        target_embeds = self.input_embeddings(batch.target).to(embeds.dtype)
        mask = torch.cat([mask, batch.target_mask], 1)
        hidden = self._hidden(torch.cat([embeds, target_embeds], 1), mask, self._positions(mask))
        width = batch.target.shape[1]
        reads = hidden[:, -width - 1 : -1]  # position k predicts target token k
        logits = self.head(reads).float()
        return F.cross_entropy(logits[batch.target_mask.bool()], batch.target[batch.target_mask.bool()])

    def logits(self, prompt, batch):
        """Vocabulary logits of the first answer token (what neuron read-outs hook into)."""
        embeds, mask, _ = self.embed(prompt, batch)
        return self.head(self._hidden(embeds, mask, self._positions(mask))[:, -1]).float()

    def prefix(self, prompt):
        if prompt is None:
            return None
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        embeds = prompt.to(self.device, self.input_embeddings.weight.dtype).unsqueeze(0)
        self._hidden(embeds, torch.ones(1, len(prompt), dtype=torch.long, device=self.device), None, cache)
        return cache

    def generate(self, prompt, batch: GenerationBatch, prefix=None) -> list[list[int]]:
        rows, length = len(batch), 0 if prompt is None else prompt.shape[0]
        cache = copy.deepcopy(prefix) if prefix is not None else None
        if cache is None:
            from transformers import DynamicCache

            cache = DynamicCache(config=self.model.config)
            embeds, mask, length = self.embed(prompt, batch)
            positions = self._positions(mask)
        else:
            cache.batch_repeat_interleave(rows)
            embeds = self.input_embeddings(batch.ids)
            mask = torch.cat([batch.mask.new_ones(rows, length), batch.mask], 1)
            positions = self._positions(batch.mask, length)
        hidden = self._hidden(embeds, mask, positions, cache)
        state = {"mask": mask, "position": positions[:, -1:]}

        def next_logits(token):
            state["mask"] = torch.cat([state["mask"], state["mask"].new_ones(rows, 1)], 1)
            state["position"] = state["position"] + 1
            embeds = self.input_embeddings(token.unsqueeze(1))
            return self.head(self._hidden(embeds, state["mask"], state["position"], cache)[:, -1]).float()

        return self._greedy(self.head(hidden[:, -1]).float(), next_logits)


class Seq2SeqGenerator(_GenerativeScorer):
    """Options as Seq2SeqScorer's: `layout: authors` (no special tokens added, dropout in
    training steps), `attend_padding`; and every generator's `target_eos`."""

    family = "seq2seq"

    def __init__(self, model, tokenizer, task, max_length, options=None):
        super().__init__(model, tokenizer, task, max_length, options)
        self.add_special_tokens = self.options.get("layout", "default") != "authors"

    def training_forward(self):
        return seq2seq_training_forward(self)

    def _decoder_inputs(self, batch: GenerationBatch) -> torch.Tensor:
        start = torch.full((len(batch), 1), self.model.config.decoder_start_token_id, device=batch.target.device)
        return torch.cat([start, batch.target[:, :-1]], 1)

    def loss(self, prompt, batch):
        embeds, mask = seq2seq_training_inputs(self, prompt, batch)
        out = self.model(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=self._decoder_inputs(batch))
        logits = out.logits.float()
        keep = batch.target_mask.bool()
        return F.cross_entropy(logits[keep], batch.target[keep])

    def logits(self, prompt, batch):
        embeds, mask, _ = self.embed(prompt, batch)
        start = torch.full((len(batch), 1), self.model.config.decoder_start_token_id, device=embeds.device)
        return self.model(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=start).logits[:, 0].float()

    def generate(self, prompt, batch, prefix=None):
        embeds, mask, _ = self.embed(prompt, batch)
        encoded = self.model.get_encoder()(inputs_embeds=embeds, attention_mask=mask)
        state = {"cache": None}

        def step(token):
            out = self.model(
                encoder_outputs=encoded, attention_mask=mask, decoder_input_ids=token.unsqueeze(1),
                cache=state["cache"], use_cache=True,
            )  # fmt: skip
            state["cache"] = out.cache
            return out.logits[:, -1].float()

        start = torch.full((len(batch),), self.model.config.decoder_start_token_id, device=embeds.device)
        return self._greedy(step(start), step)


GENERATORS = {cls.family: cls for cls in (CausalGenerator, Seq2SeqGenerator)}


def make_generator(family: str, model, tokenizer, task: Task, max_length: int, options=None) -> _GenerativeScorer:
    if family not in GENERATORS:
        raise ValueError(
            f"task {task.name}: a {family} backbone cannot generate text (families: {GENERATIVE_FAMILIES})"
        )
    return GENERATORS[family](model, tokenizer, task, max_length, options)


@torch.inference_mode()
def generate_tokens(
    scorer: _GenerativeScorer, prompt, items: list[GenerationItem], batch_size: int, runtime
) -> list[list[int]]:
    """Greedy tokens per item (end-of-sequence left out), in the order of `items`; batches of
    similar input length."""
    from .backbones import evaluation_attention

    order = sorted(range(len(items)), key=lambda i: len(items[i].ids))
    tokens: list[list[int]] = [[] for _ in items]
    if prompt is not None:
        prompt = prompt.to(runtime.device)
    with evaluation_attention(scorer.model), runtime.autocast():
        prefix = scorer.prefix(prompt)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            batch = scorer.collate([items[i] for i in index]).to(runtime.device)
            for i, written in zip(index, scorer.generate(prompt, batch, prefix)):
                tokens[i] = written
    return tokens


def generate_texts(
    scorer: _GenerativeScorer, prompt, items: list[GenerationItem], batch_size: int, runtime
) -> list[str]:
    """Greedy outputs per item as text, in the order of `items`."""
    return scorer.decode(generate_tokens(scorer, prompt, items, batch_size, runtime))


def scored_texts(
    scorer: _GenerativeScorer, prompt, items: list[GenerationItem], batch_size: int, runtime
) -> tuple[list[float], list[str]]:
    """The task's metric (in [0, 1]) of each greedy output, and the outputs, in the order of
    `items`: on the decoded text (F1, ROUGE-L) or, for a token metric, on the written tokens
    against the training target's (the authors' BLEU: their reference is the target cut to
    target_len)."""
    written = generate_tokens(scorer, prompt, items, batch_size, runtime)
    predictions = scorer.decode(written)
    if scorer.metric in TOKEN_METRICS:
        pieces = scorer.tokenizer.convert_ids_to_tokens
        scores = [
            token_score(scorer.metric, pieces(w, skip_special_tokens=True), pieces(x.target, skip_special_tokens=True))
            for w, x in zip(written, items)
        ]
    else:
        scores = [example_score(scorer.metric, p, x.answers) for p, x in zip(predictions, items)]
    return scores, predictions


def kept_examples(
    scorer: _GenerativeScorer, items: list[GenerationItem], predictions: list[str], scores: list[float], count: int
) -> list[dict]:
    """The first `count` examples as a reader sees them: the input the model read (templated, cut
    to max_length), every reference, what it wrote and its score."""
    return [
        {
            "input": scorer.tokenizer.decode(x.ids, skip_special_tokens=True),
            "references": x.answers,
            "prediction": prediction,
            "score": round(score, 4),
        }
        for x, prediction, score in list(zip(items, predictions, scores))[:count]
    ]


@torch.inference_mode()
def naive_generate(scorer: _GenerativeScorer, prompt, item: GenerationItem) -> list[int]:
    """Greedy tokens of one example, the whole sequence recomputed at every step (no cache, no
    batch): the reference the cached decoder is checked and timed against (tests,
    benchmarks/generation_speed.py)."""
    ids = torch.tensor([item.ids], device=scorer.device)
    inputs = scorer.input_embeddings(ids)
    if prompt is not None:
        inputs = torch.cat([prompt.to(scorer.device, inputs.dtype).unsqueeze(0), inputs], 1)
    start = getattr(scorer.model.config, "decoder_start_token_id", None)
    written: list[int] = []
    for step in range(scorer.max_new_tokens):
        if scorer.family == "seq2seq":
            decoder = torch.tensor([[start, *written]], device=scorer.device)
            logits = scorer.model(inputs_embeds=inputs, decoder_input_ids=decoder, use_cache=False).logits
        else:
            so_far = scorer.input_embeddings(torch.tensor([written], dtype=torch.long, device=scorer.device))
            logits = scorer.model(inputs_embeds=torch.cat([inputs, so_far], 1), use_cache=False).logits
        if step < scorer.min_new_tokens:
            logits[0, -1, scorer.eos_id] = float("-inf")
        token = int(logits[0, -1].argmax())
        if token == scorer.eos_id:
            break
        written.append(token)
    return written
