"""Job specs of a few studies against stored ones (tests/golden/specs.jsonl): a spec is what
Snakemake's params trigger compares, so a change to how the typed config (study.py) or the spec
builders (specs.py) turn the config into specs shows here, job by job, before it re-runs jobs.

A spec that changes on purpose: rewrite the stored file with `python tests/test_specs.py` and
review its diff."""

from __future__ import annotations

import json

import yaml
from conftest import REPO
from snakemake.utils import update_config

from prompt_transfer import specs
from prompt_transfer.config import load_config
from prompt_transfer.study import Study

GOLDEN = REPO / "tests" / "golden" / "specs.jsonl"
RELEASED = {"layout": "su2022", "path": "tests/data/released/task_prompt_emb", "suffix": "PromptRoberta"}
EXTERNAL = {
    "files": {"hidden_size": 32, "prompts": {"sst2": {"path": "a.pt"}, "mine": {"path": "b.pt", "type": "own"}}},
    "released": {"source": {**RELEASED, "locations": {"sst2": "SST2", "mnli": "MNLI"}}, "skip_rows": 1},
}
# (name, files layered over config.yaml, then these keys)
STUDIES = [
    (
        "tiny",
        ["tests/config/tiny.yaml"],
        {"data_dir": "tests/data/sample", "indicators": {"external_prompts": EXTERNAL}},
    ),
    ("t5-base", ["studies/t5-base.yaml"], {}),
    ("cross_model", ["studies/cross_model.yaml"], {}),
    ("seeds", ["studies/seeds.yaml"], {}),
    (
        "released_roberta_base",
        ["studies/released_roberta_base.yaml"],
        {
            "study": {"tasks": ["sst2", "mnli"]},
            "backbones": {"roberta-base": {"prompts": EXTERNAL["released"]["source"]}},
        },
    ),
]


def load(files: list[str], overrides: dict) -> Study:
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    for path in files:
        update_config(raw, yaml.safe_load((REPO / path).read_text()))
    update_config(raw, overrides)
    return Study.from_config(load_config(raw))


def planned(study: Study) -> list[tuple[str, object]]:
    """(call, spec) of the jobs of the study's first backbone on its first three tasks and first
    generation task, and of its other stages."""
    backbone = study.backbones[0]
    generation = [t for t in study.tasks if study.task(t).generates][:1]
    calls = [(specs.backbone, backbone), (specs.indicators_job, backbone, "1"), (specs.correlation_job,)]
    calls.append((specs.study_tasks,))
    for task in study.tasks[:3] + generation:
        calls += [(specs.data_job, task), (specs.train_job, backbone, task, "1"), (specs.bank_job, backbone, task, "0")]
        calls += [(build, backbone, task) for build in (specs.transfer_job, specs.baseline_job)]
        calls += [(build, backbone, task) for build in (specs.neurons_job, specs.masking_job)]
    calls += [(specs.external_indicators_job, name) for name in study.indicators["external_prompts"]]
    for pair in study.projector["pairs"]:
        for task_set in study.projector["task_sets"]:
            calls.append((specs.projector_job, pair["source"], pair["target"], task_set, "1"))
            calls.append((specs.task_projector_job, pair["source"], pair["target"], task_set, "0"))
    if study.backbone(backbone).reference:
        calls.append((specs.comparison_job, backbone))
    if study.backbone(backbone).prompts:
        calls.append((specs.import_job, backbone, study.tasks[0]))
    return [(f"{build.__name__}{tuple(args)}", build(study, *args)) for build, *args in calls]


def spec_lines() -> list[str]:
    return [
        json.dumps({"study": name, "call": call, "spec": spec.to_json()})
        for name, files, overrides in STUDIES
        for call, spec in planned(load(files, overrides))
    ]


def test_the_job_specs_are_the_stored_ones():
    stored = GOLDEN.read_text().splitlines()
    built = spec_lines()
    for line, expected in zip(built, stored):
        assert line == expected, json.loads(expected)["call"]
    assert len(built) == len(stored)


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text("\n".join(spec_lines()) + "\n")
    print(f"wrote {GOLDEN}")
