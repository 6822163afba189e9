"""benchmarks/gpu_check.py --smoke: every section runs on tiny shapes and writes the table the
GPU run will write, so the one-command GPU check cannot rot while no GPU runs it."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO

pytestmark = pytest.mark.workflow  # its workflow section runs the tiny study through Snakemake

REQUIRED = ["section", "backbone", "precision", "batch", "tokens_per_s", "achieved_tflops", "peak_tflops", "mfu"]


def test_the_smoke_check_measures_every_section_and_the_study_agrees_with_the_cpu(tmp_path, task_data):
    command = [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--out", str(tmp_path), "--smoke"]
    subprocess.run(command + ["--threads", "1", "--data-dir", str(task_data)], check=True, timeout=1800)
    table = pd.read_csv(tmp_path / "gpu_check.csv")
    assert table.columns[: len(REQUIRED)].tolist() == REQUIRED
    assert set(table.section) == {"peak", "train", "evaluate", "generate", "workflow"}
    measured = table[table.note.isna() & (table.section != "workflow")]
    assert set(measured.precision) >= {"fp32"}
    assert (measured.achieved_tflops > 0).all() and (measured.peak_tflops > 0).all()
    rates = measured[measured.section != "peak"]
    assert (rates.tokens_per_s > 0).all() and (rates.mfu > 0).all()  # tiny shapes: only the plumbing
    assert set(table[table.section == "train"].backbone) == {"tiny-mlm", "tiny-seq2seq", "tiny-causal"}
    # No TF32 on a CPU: one row per section says so instead of a number.
    tf32 = table[table.precision == "tf32"]
    assert set(tf32.section) == {"peak", "train", "evaluate", "generate"}
    assert tf32.note.str.startswith("skipped: TF32").all() and tf32.achieved_tflops.isna().all()
    study = table[table.section == "workflow"].set_index("backbone")
    assert set(study.index) == {"tiny-embedding", "tiny-mlm", "tiny-seq2seq", "tiny-causal"}
    assert study.scores_agree.all() and (study.max_score_difference == 0).all()  # both runs on this CPU
    assert study.logged_device.str.fullmatch(r"cpu in ([1-9]\d*) of \1 runtime lines").all()
    assert (study.seconds > 0).all()
    assert "| section" in (tmp_path / "gpu_check.md").read_text()
