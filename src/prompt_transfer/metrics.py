"""Scores of generated text: the paper's metrics for its generation tasks.

  f1       SQuAD token F1 after the standard answer normalisation (lower case, no punctuation,
           no articles a/an/the, single spaces), the maximum over the gold answers (QA).
  rouge_l  ROUGE-L F-measure (longest common subsequence) with Porter stemming, through
           Google's `rouge-score` package, the maximum over the references (summarisation).
  bleu_authors  what the authors' code (1.0/model/PromptT5.py) stores as `acc` for the four
           generation tasks: NLTK's sentence BLEU with weights 0.7/0.3 on 1- and 2-grams and
           smoothing method 1 (epsilon 0.1), on the tokenizer's pieces of the written tokens
           against those of the training target (the first reference cut to target_tokens).
           Their per-batch rounding down of the summed scores is not reproduced.

A task's score is the mean over its examples, in [0, 1] like accuracy.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache

TOKEN_METRICS = ("bleu_authors",)  # scored on token pieces, not on decoded text
METRICS = ("f1", "rouge_l", *TOKEN_METRICS)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 of two normalised answers; 1 when both are empty, 0 when one is."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(prediction: str, reference: str) -> float:
    return _rouge_scorer().score(reference, prediction)["rougeL"].fmeasure


_EXAMPLE_METRICS = {"f1": token_f1, "rouge_l": rouge_l}


def example_score(metric: str, prediction: str, references: list[str]) -> float:
    """The metric of one prediction: its best match among the references."""
    return max(_EXAMPLE_METRICS[metric](prediction, reference) for reference in references)


def authors_bleu(written: list[str], target: list[str]) -> float:
    """The authors' score of one output: NLTK's sentence BLEU, 1- and 2-grams weighted 0.7 / 0.3,
    smoothing method 1 (a zero count becomes 0.1), one reference."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    return float(sentence_bleu([target], written, weights=(0.7, 0.3), smoothing_function=SmoothingFunction().method1))


_TOKEN_METRICS = {"bleu_authors": authors_bleu}


def token_score(metric: str, written: list[str], target: list[str]) -> float:
    """A token metric of the written pieces against the target's pieces."""
    return _TOKEN_METRICS[metric](written, target)
