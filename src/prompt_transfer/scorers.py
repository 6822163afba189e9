"""Scorers: a frozen backbone + a task's template and verbalizer -> class logits.

Every family reads a soft prompt of shape [L, d] placed in front of the templated input (as
input embeddings) and returns one logit per class; `prompt=None` scores the bare input.

  mlm        MLM-head logits of the label words at the mask token (the paper's RoBERTa path);
             the mask goes right after the prompt unless the template places {mask} itself.
  seq2seq    first decoding step of the decoder, restricted to the label words' first tokens.
  causal     next-token logits of the label words after the templated input.
  embedding  scale * cosine between the prompted input's embedding, mean-pooled over the input
             tokens (never the prompt slots), and the frozen model's own embedding of each
             label's words (no prompt). For sentence-embedding encoders without an LM head.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .specs import Task

FAMILIES = ("mlm", "seq2seq", "causal", "embedding")


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


def default_template(has_text_b: bool) -> str:
    return "{text_a} {sep} {text_b}" if has_text_b else "{text_a}"


class Scorer:
    """Base class: tokenisation with template-aware truncation, batching, prompt handling."""

    family: str

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
        templates = self.task.templates
        return templates.get(self.family) or templates.get("default") or default_template(has_text_b)

    def _truncated_fields(self, rows: list[dict]) -> list[dict]:
        """Cut text_a/text_b (longest first) so the task text fits `max_length` tokens."""

        def offsets(texts):
            return self.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False)[
                "offset_mapping"
            ]

        off_a = offsets([r["text_a"] for r in rows])
        off_b = offsets([r["text_b"] or "" for r in rows])
        out = []
        for row, oa, ob in zip(rows, off_a, off_b):
            keep_a, keep_b = _allocate(len(oa), len(ob), self.max_length)
            out.append({"text_a": _cut(row["text_a"], oa, keep_a), "text_b": _cut(row["text_b"] or "", ob, keep_b)})
        return out

    def render(self, rows: list[dict]) -> list[str]:
        template = self.template(any(r.get("text_b") for r in rows))
        fields = {"sep": self.sep, "mask": self.tokenizer.mask_token or ""}
        try:
            return [template.format_map({**fields, **f}) for f in self._truncated_fields(rows)]
        except KeyError as e:
            raise ValueError(f"task {self.task.name}: template {template!r} uses unknown field {e}") from None

    def encode(self, rows: list[dict]) -> list[Encoded]:
        texts = self.render(rows)
        ids = self.tokenizer(texts, add_special_tokens=True)["input_ids"]
        return [Encoded(i, r["label"], self.read_index(i)) for i, r in zip(ids, rows)]

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
        ids, owner = [], []
        for label, words in enumerate(task.label_words):
            for word in [words] if isinstance(words, str) else words:
                tokens = tokenizer(self.word_prefix + word, add_special_tokens=False)["input_ids"]
                if not tokens:
                    raise ValueError(f"task {task.name}: label word {word!r} has no tokens")
                ids.append(tokens[0])
                owner.append(label)
        first = {}
        for token, label in zip(ids, owner):
            if first.setdefault(token, label) != label:
                raise ValueError(
                    f"task {task.name}: labels {task.labels[first[token]]!r} and {task.labels[label]!r} "
                    f"share the first token {tokenizer.convert_ids_to_tokens(token)!r} of their label words"
                )
        self.label_token_ids = torch.tensor(ids, device=self.device)
        # Averages the logits of each label's alternative words: [C, K]
        average = torch.zeros(self.num_classes, len(ids))
        for k, label in enumerate(owner):
            average[label, k] = 1.0
        self.label_average = (average / average.sum(1, keepdim=True)).to(self.device)

    def class_logits(self, token_logits: torch.Tensor) -> torch.Tensor:
        """[B, K] logits of the label tokens -> [B, C]."""
        return token_logits.float() @ self.label_average.T


class MLMScorer(_LabelTokenScorer):
    family = "mlm"

    def __init__(self, model, tokenizer, task, max_length, options=None):
        super().__init__(model, tokenizer, task, max_length, options)
        self.head = next(getattr(model, n) for n in ("lm_head", "cls", "predictions") if hasattr(model, n))

    def encode(self, rows):
        items = super().encode(rows)
        mask_id = self.tokenizer.mask_token_id
        for x in items:
            if mask_id not in x.ids:  # no {mask} in the template: the paper's place, right after the prompt
                x.ids = [mask_id] + x.ids
            x.read_index = x.ids.index(mask_id)
        return items

    def logits(self, prompt, batch):
        embeds, mask, length = self.embed(prompt, batch)
        hidden = self.model.base_model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        read = hidden[torch.arange(len(batch), device=hidden.device), length + batch.read_index]
        return self.class_logits(self.head(read)[:, self.label_token_ids])


class CausalScorer(_LabelTokenScorer):
    family = "causal"

    def __init__(self, model, tokenizer, task, max_length, options=None):
        self.word_prefix = (options or {}).get("label_word_prefix", " ")
        super().__init__(model, tokenizer, task, max_length, options)
        head = model.get_output_embeddings()
        self.label_weight = head.weight[self.label_token_ids]
        self.label_bias = None if head.bias is None else head.bias[self.label_token_ids]

    def logits(self, prompt, batch):
        embeds, mask, length = self.embed(prompt, batch)
        hidden = self.model.base_model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        read = hidden[torch.arange(len(batch), device=hidden.device), length + batch.read_index]
        return self.class_logits(F.linear(read, self.label_weight.to(read.dtype), self.label_bias))


class Seq2SeqScorer(_LabelTokenScorer):
    family = "seq2seq"

    def logits(self, prompt, batch):
        embeds, mask, _ = self.embed(prompt, batch)
        start = torch.full((len(batch), 1), self.model.config.decoder_start_token_id, device=embeds.device)
        out = self.model(inputs_embeds=embeds, attention_mask=mask, decoder_input_ids=start)
        return self.class_logits(out.logits[:, 0, self.label_token_ids])


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


SCORERS = {cls.family: cls for cls in (MLMScorer, Seq2SeqScorer, CausalScorer, EmbeddingScorer)}


def make_scorer(family: str, model, tokenizer, task: Task, max_length: int, options: dict | None = None) -> Scorer:
    if task.generation:  # QA and summarisation: the prompt makes the model write (generation.py)
        from .generation import make_generator

        return make_generator(family, model, tokenizer, task, max_length, options)
    return SCORERS[family](model, tokenizer, task, max_length, options)
