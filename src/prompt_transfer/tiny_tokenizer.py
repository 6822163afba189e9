"""The word-level tokenizer of a tiny backbone (config `source: tiny`), built from its corpus.

Only the `tokenizers` library, no torch: the workflow builds it at plan time too, to check the
label words a tiny backbone scores before any job runs (input_checks.py)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>"]


def corpus_words(paths: list[str | Path]) -> Counter:
    """Lower-cased word counts of JSONL task files (text_a/text_b) or plain text files."""
    counts: Counter = Counter()
    for path in paths:
        with open(path, encoding="utf-8-sig") as f:  # -sig: a leading byte-order mark is not text
            for line in f:
                if line.lstrip().startswith("{"):
                    row = json.loads(line)
                    line = f"{row.get('text_a') or ''} {row.get('text_b') or ''}"
                counts.update(re.findall(r"\w+|[^\w\s]", line.lower()))
    return counts


def vocabulary(corpus: list[str | Path], options: dict) -> list[str]:
    """The words of a tiny source's options: the corpus' most frequent, then its extra_words."""
    counts = corpus_words(corpus)
    return [w for w, _ in counts.most_common(options["vocab_words"])] + options["extra_words"]


def word_level_tokenizer(words: list[str], family: str):
    """A `tokenizers.Tokenizer` over `words` with the special tokens each family needs."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for word in words:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    if family in ("embedding", "mlm"):
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
        )
    elif family == "seq2seq":
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 6)])
    return tok
