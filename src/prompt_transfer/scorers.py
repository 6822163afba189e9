"""Scorers: a frozen backbone + a task's template and verbalizer -> class logits.

Every family reads a soft prompt of shape [L, d] placed in front of the templated input (as
input embeddings) and returns one logit per class; `prompt=None` scores the bare input.

  mlm        MLM-head logits of the label words at the mask token (the paper's RoBERTa verbalizer);
             by default the mask goes right after the prompt unless the template places {mask}
             itself; the option `layout: authors` is the authors' input layout (MLMScorer).
  seq2seq    first decoding step of the decoder, restricted to the label words' first tokens.
  causal     next-token logits of the label words after the templated input.
  embedding  scale * cosine between the prompted input's embedding, mean-pooled over the input
             tokens (never the prompt slots), and the frozen model's own embedding of each
             label's words (no prompt). For sentence-embedding encoders without an LM head.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .errors import ConfigError
from .input_checks import label_word_prefix, shared_label_token, template_of, template_problem
from .specs import Task


@dataclass
class Batch:
    ids: torch.Tensor  # [B, T] token ids of the templated input, right-padded
    mask: torch.Tensor  # [B, T] 1 for real tokens
    labels: torch.Tensor  # [B]
    read_index: torch.Tensor  # [B] read-out position within the input (mlm: mask, causal: last token)

    def to(self, device) -> "Batch":
        return Batch(*(t.to(device) for t in (self.ids, self.mask, self.labels, self.read_index)))

    def __len__(self) -> int:
        return self.ids.shape[0]


@dataclass
class Encoded:
    """One tokenised example."""

    ids: list[int]
    label: int
    read_index: int
    truncated: bool = False  # its text was cut to the scorer's max_length


def truncated_inputs(items: list, what: str, max_length: int) -> int:
    """How many of `items` had their text cut to `max_length` tokens, logged (jobs record it)."""
    count = sum(x.truncated for x in items)
    logging.getLogger(__name__).info("%s: %d of %d inputs cut to max_length %d", what, count, len(items), max_length)
    return count


def _allocate(len_a: int, len_b: int, budget: int) -> tuple[int, int]:
    """Longest-first token budget for two fields (the tokenizers' `longest_first` rule)."""
    if len_a + len_b <= budget:
        return len_a, len_b
    half = budget // 2
    if len_b <= half:
        return budget - len_b, len_b
    if len_a <= half:
        return len_a, budget - len_a
    return budget - half, half


def _cut(text: str, offsets: list[tuple[int, int]], keep: int) -> str:
    if keep >= len(offsets):
        return text
    return text[: offsets[keep - 1][1]] if keep > 0 else ""


class Scorer:
    """Base class: tokenisation with template-aware truncation, batching, prompt handling."""

    family: str
    add_special_tokens = True  # the tokenizer's own special tokens around the rendered template

    def __init__(self, model, tokenizer, task: Task, max_length: int, options: dict | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.task = task
        self.max_length = max_length
        self.options = options or {}
        self.num_classes = len(task.labels)
        self.input_embeddings = model.get_input_embeddings()
        self.hidden_size = self.input_embeddings.weight.shape[1]
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.sep = tokenizer.sep_token or "\n"

    @property
    def device(self) -> torch.device:
        return self.input_embeddings.weight.device

    # -- text -> token ids ------------------------------------------------------------------

    def template(self, has_text_b: bool) -> str:
        """The family's template; one that cannot render the rows is refused (as at plan time)."""
        template = template_of(self.task.templates, self.family, has_text_b)
        problem = template_problem(template, has_text_b)
        if problem:
            raise ConfigError(f"task {self.task.name} ({self.family} scorer): template {template!r}: {problem}")
        return template

    def _truncated_fields(self, rows: list[dict]) -> list[tuple[dict, bool]]:
        """Cut text_a/text_b (longest first) so the task text fits `max_length` tokens; each row's
        fields and whether they were cut."""

        def offsets(texts):
            return self.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False)[
                "offset_mapping"
            ]

        off_a = offsets([r["text_a"] for r in rows])
        off_b = offsets([r["text_b"] or "" for r in rows])
        out = []
        for row, oa, ob in zip(rows, off_a, off_b):
            keep_a, keep_b = _allocate(len(oa), len(ob), self.max_length)
            fields = {"text_a": _cut(row["text_a"], oa, keep_a), "text_b": _cut(row["text_b"] or "", ob, keep_b)}
            out.append((fields, keep_a < len(oa) or keep_b < len(ob)))
        return out

    @property
    def truncates_rendered(self) -> bool:
        """The task's `truncation: rendered`: the rendered input's tokens are cut to max_length
        (the authors' T5 generation formatters), not text_a/text_b longest-first before rendering."""
        return self.task.truncation == "rendered"

    def rendered(self, rows: list[dict]) -> list[tuple[str, bool]]:
        """Each row's templated text and whether its task text was cut to fit (under
        `truncation: rendered` the tokens are cut afterwards, by input_ids)."""
        template = self.template(any(r.get("text_b") for r in rows))
        fields = {"sep": self.sep, "mask": self.tokenizer.mask_token or ""}
        if self.truncates_rendered:
            texts = [({"text_a": r["text_a"], "text_b": r["text_b"] or ""}, False) for r in rows]
        else:
            texts = self._truncated_fields(rows)
        return [(template.format_map({**fields, **f}), cut) for f, cut in texts]

    def render(self, rows: list[dict]) -> list[str]:
        return [text for text, _ in self.rendered(rows)]

    def input_ids(self, rows: list[dict]) -> tuple[list[list[int]], list[bool]]:
        """Token ids of the rendered inputs, and whether each was cut to max_length."""
        texts, cuts = zip(*self.rendered(rows)) if rows else ((), ())
        ids = self.tokenizer(list(texts), add_special_tokens=self.add_special_tokens)["input_ids"]
        if self.truncates_rendered:
            return [i[: self.max_length] for i in ids], [len(i) > self.max_length for i in ids]
        return ids, list(cuts)

    def encode(self, rows: list[dict]) -> list[Encoded]:
        ids, cuts = self.input_ids(rows)
        return [Encoded(i, r["label"], self.read_index(i), cut) for i, r, cut in zip(ids, rows, cuts)]

    def read_index(self, ids: list[int]) -> int:
        return len(ids) - 1

    def collate(self, items: list[Encoded]) -> Batch:
        width = max(len(x.ids) for x in items)
        ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for row, x in enumerate(items):
            ids[row, : len(x.ids)] = torch.tensor(x.ids)
            mask[row, : len(x.ids)] = 1
        labels = torch.tensor([x.label for x in items])
        read = torch.tensor([x.read_index for x in items])
        return Batch(ids, mask, labels, read)

    # -- prompt + input -> logits -----------------------------------------------------------

    def embed(self, prompt: torch.Tensor | None, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Input embeddings with the prompt in front, the matching attention mask, and L."""
        tokens = self.input_embeddings(batch.ids)
        if prompt is None:
            return tokens, batch.mask, 0
        n = len(batch)
        length = prompt.shape[0]
        embeds = torch.cat([prompt.to(tokens.dtype).unsqueeze(0).expand(n, -1, -1), tokens], dim=1)
        mask = torch.cat([batch.mask.new_ones(n, length), batch.mask], dim=1)
        return embeds, mask, length

    def logits(self, prompt: torch.Tensor | None, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, prompt: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Training loss: cross-entropy over the class logits."""
        return F.cross_entropy(self.logits(prompt, batch).float(), batch.labels)

    def read_positions(self, batch: Batch, length: int) -> torch.Tensor:
        """Read-out positions in the prompted sequence (prompt of `length` rows in front)."""
        return length + batch.read_index

    def training_forward(self):
        """Context of a training step's forward pass: the frozen backbone stays in eval mode."""
        return contextlib.nullcontext()

    def init_prompt(self, length: int, method: str, generator: torch.Generator, std: float = 0.02) -> torch.Tensor:
        """A fresh prompt [length, d]: embeddings of random non-special tokens, or N(0, std)."""
        if method == "normal":
            return torch.randn(length, self.hidden_size, generator=generator) * std
        special = set(self.tokenizer.all_special_ids)
        vocab = self.input_embeddings.weight.shape[0]
        candidates = torch.tensor([i for i in range(vocab) if i not in special])
        ids = candidates[torch.randint(len(candidates), (length,), generator=generator)]
        with torch.no_grad():
            return self.input_embeddings(ids.to(self.device)).float().cpu().clone()


class _LabelTokenScorer(Scorer):
    """Families that read vocabulary logits of label-word tokens (mlm, seq2seq, causal)."""

    word_prefix = ""

    def __init__(self, model, tokenizer, task, max_length, options=None):
        super().__init__(model, tokenizer, task, max_length, options)
        shared = shared_label_token(task.labels, task.label_words, self._first_token)
        if shared is not None:
            first, second, token = shared
            raise ConfigError(
                f"task {task.name} ({self.family} scorer): labels {first!r} and {second!r} share the scored "
                f"first token {tokenizer.convert_ids_to_tokens(token)!r} of their label words"
            )
        ids, owner = [], []
        for label, words in enumerate(task.label_words):
            for word in words if isinstance(words, list) else [words]:
                ids.append(self._first_token(word))
                owner.append(label)
        self.label_token_ids = torch.tensor(ids, device=self.device)
        self.label_token_owner = owner
        # Averages the logits of each label's alternative words: [C, K]
        average = torch.zeros(self.num_classes, len(ids))
        for k, label in enumerate(owner):
            average[label, k] = 1.0
        self.label_average = (average / average.sum(1, keepdim=True)).to(self.device)

    def _first_token(self, word: str | int) -> int:
        """The scored token of a label word; an integer is a token id given explicitly (a choice
        no word expresses, e.g. the authors' id 897 for ETHICS label 0)."""
        if isinstance(word, int):
            if not 0 <= word < self.input_embeddings.weight.shape[0]:
                raise ConfigError(f"task {self.task.name}: label token id {word} is outside the vocabulary")
            return word
        tokens = self.tokenizer(self.word_prefix + word, add_special_tokens=False)["input_ids"]
        if not tokens:
            raise ConfigError(f"task {self.task.name}: label word {word!r} has no tokens")
        return tokens[0]

    def scored_labels(self) -> dict[str, dict]:
        """Per label, the token ids it scores and their token strings (recorded by training jobs)."""
        ids = self.label_token_ids.tolist()
        return {
            name: {
                "token_ids": [t for t, o in zip(ids, self.label_token_owner) if o == label],
                "tokens": self.tokenizer.convert_ids_to_tokens(
                    [t for t, o in zip(ids, self.label_token_owner) if o == label]
                ),
            }
            for label, name in enumerate(self.task.labels)
        }

    def class_logits(self, token_logits: torch.Tensor) -> torch.Tensor:
        """[B, K] logits of the label tokens -> [B, C]."""
        return token_logits.float() @ self.label_average.T


class MLMScorer(_LabelTokenScorer):
    """Two input layouts (scorer option `layout`):

    default  `P1..PL <mask> <s> x </s>` with ordinary position ids over the whole sequence (or
             the mask where the template puts {mask}); embedding and encoder dropout off.
    authors  the authors' RoBERTa layout (their `modelling_roberta.py`): `<mask> P2..PL <s> x </s>`,
             the `<mask>` embedding overwriting prompt slot 0 on every forward pass; no position
             embedding on the L prompt slots, the text keeping the position ids it would have
             behind L prompt tokens (RoBERTa: from L + 2 = 102); no embedding dropout; the
             encoder's dropout active while training; logits read at position 0. As in their
             code (a `.data` write), slot 0's value is the mask embedding but prompt row 0 still
             receives the gradient of position 0.
    """

    family = "mlm"

    def __init__(self, model, tokenizer, task, max_length, options=None):
        super().__init__(model, tokenizer, task, max_length, options)
        self.head = next(getattr(model, n) for n in ("lm_head", "cls", "predictions") if hasattr(model, n))
        self.authors_layout = self.options.get("layout", "default") == "authors"

    def encode(self, rows):
        items = super().encode(rows)
        if self.authors_layout:
            for x in items:
                x.read_index = 0  # unused: the read-out is prompt slot 0
            return items
        mask_id = self.tokenizer.mask_token_id
        for x in items:
            if mask_id not in x.ids:  # no {mask} in the template: right after the prompt
                x.ids = [mask_id] + x.ids
            x.read_index = x.ids.index(mask_id)
        return items

    def read_positions(self, batch: Batch, length: int) -> torch.Tensor:
        if self.authors_layout:
            return torch.zeros_like(batch.read_index)
        return length + batch.read_index

    def logits(self, prompt, batch):
        if self.authors_layout:
            hidden = self._authors_hidden(prompt, batch)
        else:
            embeds, mask, _ = self.embed(prompt, batch)
            hidden = self.model.base_model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        length = 0 if prompt is None else prompt.shape[0]
        read = hidden[torch.arange(len(batch), device=hidden.device), self.read_positions(batch, length)]
        return self.class_logits(self.head(read)[:, self.label_token_ids])

    def training_forward(self):
        """The authors train with the encoder's dropout active (their embedding dropout is off)."""
        if not self.authors_layout:
            return super().training_forward()
        return _train_mode(self.model)

    # -- the authors' layout ----------------------------------------------------------------

    def _authors_hidden(self, prompt, batch) -> torch.Tensor:
        """Final hidden states of `<mask> P2..PL <s> x </s>` (no prompt: the mask alone in slot 0)."""
        mask_embedding = self.input_embeddings.weight[self.tokenizer.mask_token_id]
        if prompt is None:
            slots = mask_embedding.unsqueeze(0)
        else:  # value: the mask embedding; gradient: prompt row 0's, as the authors' .data write
            row0 = mask_embedding + (prompt[0] - prompt[0].detach()).to(mask_embedding.dtype)
            slots = torch.cat([row0.unsqueeze(0), prompt[1:].to(mask_embedding.dtype)])
        n, length = len(batch), slots.shape[0]
        tokens = self.input_embeddings(batch.ids)
        embeds = torch.cat([slots.unsqueeze(0).expand(n, -1, -1).to(tokens.dtype), tokens], dim=1)
        mask = torch.cat([batch.mask.new_ones(n, length), batch.mask], dim=1)
        embeddings = self.model.base_model.embeddings
        # RoBERTa counts positions from padding_idx + 1; BERT-style embeddings from 0.
        first = getattr(embeddings, "padding_idx", -1) + 1 + length
        text_positions = torch.arange(first, first + batch.ids.shape[1], device=tokens.device)

        def authors_embeddings(module, args, kwargs, output):
            inputs = kwargs["inputs_embeds"]
            position = module.position_embeddings(text_positions).to(inputs.dtype)
            position = torch.cat([position.new_zeros(length, position.shape[1]), position])
            token_type = module.token_type_embeddings.weight[0].to(inputs.dtype)
            return module.LayerNorm(inputs + token_type + position)  # no dropout

        handle = embeddings.register_forward_hook(authors_embeddings, with_kwargs=True)
        try:
            return self.model.base_model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        finally:
            handle.remove()


def seq2seq_training_forward(scorer: Scorer):
    """Under `layout: authors` a T5 training step runs with the model's dropout active (the
    authors' training loop calls model.train()); otherwise the frozen backbone stays in eval mode."""
    if scorer.options.get("layout", "default") != "authors":
        return contextlib.nullcontext()
    return _train_mode(scorer.model)


@contextlib.contextmanager
def _train_mode(model):
    model.train()
    try:
        yield
    finally:
        model.eval()


class CausalScorer(_LabelTokenScorer):
    family = "causal"

    def __init__(self, model, tokenizer, task, max_length, options=None):
        self.word_prefix = label_word_prefix(self.family, options or {})
        super().__init__(model, tokenizer, task, max_length, options)
        head = model.get_output_embeddings()
        self.label_weight = head.weight[self.label_token_ids]
        self.label_bias = None if head.bias is None else head.bias[self.label_token_ids]

    def logits(self, prompt, batch):
        embeds, mask, length = self.embed(prompt, batch)
        hidden = self.model.base_model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        read = hidden[torch.arange(len(batch), device=hidden.device), length + batch.read_index]
        return self.class_logits(F.linear(read, self.label_weight.to(read.dtype), self.label_bias))


def seq2seq_training_inputs(scorer: Scorer, prompt, batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoder embeddings and attention mask of a seq2seq training step. Option `attend_padding`:
    every input right-padded to `max_length + 2` tokens and all of it attended, as the authors'
    training forward, which passes no attention mask (their formatters pad every input to
    max_len + 2 + prompt_num; T5 then attends everywhere; their evaluation's `generate` derives
    the mask from the pad ids, so evaluation masks the padding as the workflow always does)."""
    embeds, mask, length = scorer.embed(prompt, batch)
    if not scorer.options.get("attend_padding", False):
        return embeds, mask
    missing = length + scorer.max_length + 2 - embeds.shape[1]
    if missing > 0:
        pad = torch.full((len(batch), missing), scorer.pad_id, device=embeds.device)
        embeds = torch.cat([embeds, scorer.input_embeddings(pad).to(embeds.dtype)], dim=1)
    return embeds, torch.ones(embeds.shape[:2], dtype=mask.dtype, device=mask.device)


class Seq2SeqScorer(_LabelTokenScorer):
    """Options: `layout: authors` renders the template with no special tokens added (the
    authors' T5 templates write `</s>` where they had it, and leave it out for IMDB, NLI and
    ETHICS) and trains with T5's dropout active (their model trains in train mode); `loss:
    authors` trains with the authors' loss, the full-vocabulary cross-entropy of the decoder on
    the first `task.target_tokens` tokens of the label's word (default: the cross-entropy over
    the class logits, as every family); `attend_padding` (seq2seq_training_inputs)."""

    family = "seq2seq"

    def __init__(self, model, tokenizer, task, max_length, options=None):
        super().__init__(model, tokenizer, task, max_length, options)
        self.add_special_tokens = self.options.get("layout", "default") != "authors"
        self.target_ids = self._target_ids(task.target_tokens or 1)

    def training_forward(self):
        return seq2seq_training_forward(self)

    def _target_ids(self, length: int) -> torch.Tensor:
        """[C, length] decoder targets: each label's (first) word's first tokens, -100 padded."""
        rows = []
        for words in self.task.label_words:
            word = words[0] if isinstance(words, list) else words
            ids = [word] if isinstance(word, int) else self.tokenizer(word, add_special_tokens=False)["input_ids"]
            ids = ids[:length]
            rows.append(ids + [-100] * (length - len(ids)))
        return torch.tensor(rows, device=self.device)

    def logits(self, prompt, batch):
        embeds, mask, _ = self.embed(prompt, batch)
        start = torch.full((len(batch), 1), self.model.config.decoder_start_token_id, device=embeds.device)
        out = self.model(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=start)
        return self.class_logits(out.logits[:, 0, self.label_token_ids])

    def loss(self, prompt, batch):
        if self.options.get("loss", "label_tokens") != "authors":
            return super().loss(prompt, batch)
        embeds, mask = seq2seq_training_inputs(self, prompt, batch)
        targets = self.target_ids[batch.labels]
        return self.model(inputs_embeds=embeds, attention_mask=mask, labels=targets).loss.float()


class EmbeddingScorer(Scorer):
    family = "embedding"

    def __init__(self, model, tokenizer, task, max_length, options=None):
        super().__init__(model, tokenizer, task, max_length, options)
        self.scale = self.options.get("scale", 20.0)
        self.label_vectors = self._label_vectors(task.label_words)

    def pooled(self, prompt: torch.Tensor | None, batch: Batch) -> torch.Tensor:
        """Unit-norm mean of the input tokens' final hidden states (prompt slots excluded)."""
        embeds, mask, length = self.embed(prompt, batch)
        hidden = self.model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state[:, length:]
        weights = batch.mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * weights).sum(1) / weights.sum(1)
        return F.normalize(mean.float(), dim=-1)

    @torch.no_grad()
    def _label_vectors(self, label_words) -> torch.Tensor:
        vectors = []
        for words in label_words:
            words = [words] if isinstance(words, str) else list(words)
            enc = self.tokenizer(words, add_special_tokens=True)["input_ids"]
            batch = self.collate([Encoded(ids, 0, 0) for ids in enc]).to(self.device)
            vectors.append(F.normalize(self.pooled(None, batch).mean(0), dim=-1))
        return torch.stack(vectors)

    def logits(self, prompt, batch):
        return self.scale * self.pooled(prompt, batch) @ self.label_vectors.T

    def scored_labels(self) -> dict[str, dict]:
        """Per label, the descriptions whose embeddings it is scored against (no single token)."""
        return {
            name: {"descriptions": words if isinstance(words, list) else [words]}
            for name, words in zip(self.task.labels, self.task.label_words)
        }


SCORERS = {cls.family: cls for cls in (MLMScorer, Seq2SeqScorer, CausalScorer, EmbeddingScorer)}
