"""The one way a job opens a backbone with its scorer: a `Session`.

A session loads each backbone once, wraps it in a scorer per (task, text budget) and tokenises
each data split once. A job makes a fresh session; a warm evaluation worker (worker.py) keeps
one across the jobs it serves; the task projector opens one backbone with several scorers.
All go through the same code, so a result does not depend on who computed it.
"""

from __future__ import annotations

import json
from pathlib import Path

from .backbones import load_backbone
from .data import read_split
from .generation import make_generator
from .runtime import Runtime, setup_runtime
from .scorers import SCORERS, Encoded, Scorer
from .specs import Backbone, Evaluation, Task


def make_scorer(family: str, model, tokenizer, task: Task, max_length: int, options: dict | None = None) -> Scorer:
    if task.generation:  # QA and summarisation: the prompt makes the model write (generation.py)
        return make_generator(family, model, tokenizer, task, max_length, options)
    return SCORERS[family](model, tokenizer, task, max_length, options)


class Session:
    def __init__(self):
        self.models, self.scorers, self.items = {}, {}, {}

    def _model_key(self, manifest, backbone: Backbone, runtime: Runtime) -> tuple:
        return (str(Path(manifest).resolve()), backbone.scorer, backbone.dtype, str(runtime.device))

    def backbone(self, manifest, backbone: Backbone, runtime: Runtime):
        """(model, tokenizer), frozen and in eval mode on the runtime's device."""
        key = self._model_key(manifest, backbone, runtime)
        if key not in self.models:
            self.models[key] = load_backbone(manifest, backbone.scorer, backbone.dtype, runtime.device)
        return self.models[key]

    def scorer(self, manifest, backbone: Backbone, task: Task, max_length: int, runtime: Runtime) -> Scorer:
        model_key = self._model_key(manifest, backbone, runtime)
        key = json.dumps([model_key, backbone.scorer_options, task.to_dict(), max_length], sort_keys=True)
        if key not in self.scorers:
            model, tokenizer = self.backbone(manifest, backbone, runtime)
            self.scorers[key] = make_scorer(
                backbone.scorer, model, tokenizer, task, max_length, backbone.scorer_options
            )
        return self.scorers[key]

    def split(self, scorer: Scorer, data_dir, split: str) -> list[Encoded]:
        """A prepared split, tokenised by `scorer`; again only when the file changed."""
        path = Path(data_dir, f"{split}.jsonl").resolve()
        stat = path.stat()
        key = (id(scorer), str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self.items:
            self.items[key] = scorer.encode(read_split(data_dir, split))
        return self.items[key]

    def open(self, manifest, backbone: Backbone, task: Task, evaluation: Evaluation, data_dir, threads):
        """(runtime, scorer, encoded validation items) of an evaluation job."""
        runtime = setup_runtime(threads, evaluation.precision)
        scorer = self.scorer(manifest, backbone, task, evaluation.max_length, runtime)
        return runtime, scorer, self.split(scorer, data_dir, "validation")
