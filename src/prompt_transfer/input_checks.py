"""Templates and label words, checked for every (task, backbone) of the study before any job runs.

A template that renders every input as the same text, or label words two labels share, gives a
result without an error (accuracy of one class); these checks refuse them in one line naming
the task, the backbone and the template or words. The label words' scored tokens are checked
with the backbone's own tokenizer where it is at hand when the workflow plans: a tiny backbone's,
built from its corpus, and a local folder's (`source: path`). Other backbones' scorers check
them when they are made, in the job, before any scoring (scorers._LabelTokenScorer), by the
same rule. No torch here: the workflow plans with this module.
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable

from .errors import ConfigError
from .families import REGISTRY
from .study import Study

FIELDS = ("text_a", "text_b", "sep", "mask")


def default_template(has_text_b: bool) -> str:
    return "{text_a} {sep} {text_b}" if has_text_b else "{text_a}"


def template_key(templates: dict, family: str) -> str | None:
    """The key of `templates` a family's scorer renders with (None: the default template)."""
    return next((key for key in (family, "default") if templates.get(key)), None)


def template_of(templates: dict, family: str, has_text_b: bool) -> str:
    key = template_key(templates, family)
    return templates[key] if key else default_template(has_text_b)


def template_problem(template: str, pair: bool) -> str | None:
    """Why `template` cannot render a task's inputs, or None."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        return f"bad braces ({e}; a literal brace is written {{{{ or }}}})"
    fields = []
    for _, name, format_spec, conversion in parts:
        if name is None:
            continue
        if name not in FIELDS or format_spec or conversion:
            field = template[template.index("{" + name) :].split("}", 1)[0] + "}"
            return f"unknown field {field} (fields: {', '.join('{' + f + '}' for f in FIELDS)})"
        fields.append(name)
    texts = ("text_a", "text_b") if pair else ("text_a",)
    if not any(f in fields for f in texts):
        return f"no text field ({' or '.join('{' + t + '}' for t in texts)}): every input would be the same text"
    if pair and "text_b" not in fields:
        return "a pair task's template without {text_b}: every row's second text would be left out"
    if fields.count("mask") > 1:
        return f"{{mask}} {fields.count('mask')} times: the scorer reads one mask position"
    return None


def label_word_prefix(family: str, options: dict) -> str:
    """Text put before each label word when it is tokenised (causal: a space for BPE vocabularies)."""
    return options.get("label_word_prefix", " ") if family == "causal" else ""


def shared_label_token(labels: list[str], label_words: list, token_of: Callable) -> tuple[str, str, object] | None:
    """(first label, second label, token) of the first scored token two labels share, or None;
    `token_of(word)` is the token a label word is scored by."""
    owner: dict = {}
    for label, words in zip(labels, label_words):
        for word in words if isinstance(words, list) else [words]:
            token = token_of(word)
            first = owner.setdefault(token, label)
            if first != label:
                return first, label, token
    return None


class _Vocabulary:
    """Token ids and names of a tokenizer: a `tokenizers.Tokenizer` or a transformers one."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def ids(self, text: str) -> list[int]:
        if hasattr(self.tokenizer, "encode_batch"):  # tokenizers.Tokenizer
            return self.tokenizer.encode(text, add_special_tokens=False).ids
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def name(self, token: int) -> str:
        if hasattr(self.tokenizer, "id_to_token"):
            return self.tokenizer.id_to_token(token)
        return self.tokenizer.convert_ids_to_tokens(token)


def plan_vocabulary(study: Study, backbone: str) -> _Vocabulary | None:
    """The backbone's tokenizer when it is at hand without a job (tiny, or a local folder)."""
    entry = study.backbone(backbone)
    ((kind, value),) = entry.source.items()
    if kind == "tiny":
        from .tiny_tokenizer import vocabulary, word_level_tokenizer

        corpus = [os.path.join(study.data_dir or "", path) for path in value["corpus"]]
        if not all(map(os.path.isfile, corpus)):
            return None  # Snakemake names the missing input
        return _Vocabulary(word_level_tokenizer(vocabulary(corpus, value), entry.scorer))
    if kind == "path" and os.path.isfile(os.path.join(value, "config.json")):
        from transformers import AutoTokenizer

        return _Vocabulary(AutoTokenizer.from_pretrained(value))
    return None


def label_problem(labels: list[str], label_words: list, family: str, options: dict, vocab) -> str | None:
    """Why a scorer cannot tell `labels` apart by their words, or None. Without a tokenizer
    (`vocab` None) only words two labels share verbatim are found."""

    def token_of(word):
        if isinstance(word, int) or vocab is None or not REGISTRY[family].scores_label_tokens:
            return word
        ids = vocab.ids(label_word_prefix(family, options) + word)
        if not ids:
            raise ConfigError(f"label word {word!r} has no tokens")
        return ids[0]

    try:
        shared = shared_label_token(labels, label_words, token_of)
    except ConfigError as e:
        return str(e)
    if shared is None:
        return None
    first, second, token = shared
    if vocab is None or isinstance(token, str):
        return f"labels {first!r} and {second!r} share the label word {token!r}"
    name = vocab.name(token)
    hint = " (words outside the vocabulary: a tiny backbone takes them in source.tiny.extra_words)"
    return f"labels {first!r} and {second!r} share the scored first token {name!r}" + (hint if name == "[UNK]" else "")


def check(study: Study) -> None:
    """Every study task's template and label words as each study backbone's scorer reads them."""
    problems = []
    vocabularies: dict = {}
    for backbone in study.backbones:
        entry = study.backbone(backbone)
        family = entry.scorer
        for name in study.tasks:
            task = study.task(name)
            key = template_key(task.templates, family)
            template = template_of(task.templates, family, task.pair)
            problem = template_problem(template, task.pair)
            if problem:
                where = f"tasks.{name}.templates.{key}" if key else f"tasks.{name} (the default template)"
                problems.append(f"{where} (backbone {backbone}): template {template!r}: {problem}")
            if task.generates:
                continue
            if backbone not in vocabularies:
                vocabularies[backbone] = plan_vocabulary(study, backbone)
            options = entry.scorer_options
            words = task.label_words[family]
            problem = label_problem(task.labels, words, family, options, vocabularies[backbone])
            if problem:
                problems.append(f"tasks.{name}.label_words.{family} (backbone {backbone}): {problem}")
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))
