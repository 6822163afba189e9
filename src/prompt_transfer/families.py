"""The scorer families: the one list of them, and what each one is to the rest of the package.

A backbone's `scorer` names its family: how a prompted input becomes class logits
(scorers.py, generation.py), which transformers class the backbone loads as (backbones.py),
which PEFT model wraps it (peft_io.py), and which keys the config accepts per family (the
schema's families are filled in from here when config.py loads it). This module imports
nothing, so the config layer reads it without torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    model_class: str  # the transformers Auto class the backbone loads as
    peft_task_type: str  # the PEFT task type its prompt-tuning adapter declares
    generates: bool  # can write text (generation tasks)
    scores_label_tokens: bool  # scores the label words' first tokens (so they must be tokens of its vocabulary)
    read_out: str  # where its class logits sit in the output of the (PEFT-wrapped) backbone


# PEFT has no masked-LM task type: FEATURE_EXTRACTION prepends the prompt and returns the wrapped
# model's own output, which for an AutoModelForMaskedLM is its vocabulary logits.
REGISTRY = {
    family.name: family
    for family in (
        Family(
            "mlm",
            model_class="AutoModelForMaskedLM",
            peft_task_type="FEATURE_EXTRACTION",
            generates=False,
            scores_label_tokens=True,
            read_out="output.logits[i, L + mask position] at the label words' first tokens, averaged over each label's "
            "words; the mask token goes where the template puts {mask}, else first, right after the prompt",
        ),
        Family(
            "seq2seq",
            model_class="AutoModelForSeq2SeqLM",
            peft_task_type="SEQ_2_SEQ_LM",
            generates=True,
            scores_label_tokens=True,
            read_out="output.logits[i, 0] at the label words' first tokens, with decoder_input_ids = "
            "[[decoder_start_token_id]], averaged over each label's words",
        ),
        Family(
            "causal",
            model_class="AutoModelForCausalLM",
            peft_task_type="CAUSAL_LM",
            generates=True,
            scores_label_tokens=True,
            read_out="output.logits[i, L + read_index] at the label words' first tokens (last input token; "
            "right padding), averaged over each label's words",
        ),
        Family(
            "embedding",
            model_class="AutoModel",
            peft_task_type="FEATURE_EXTRACTION",
            generates=False,
            scores_label_tokens=False,
            read_out="scale * cosine(mean of output.last_hidden_state[i, L:] over the input tokens, label vector); "
            "label vectors: the backbone's own (no prompt) mean-pooled embedding of each label's words",
        ),
    )
}

FAMILIES = tuple(REGISTRY)
GENERATIVE_FAMILIES = tuple(name for name, family in REGISTRY.items() if family.generates)
