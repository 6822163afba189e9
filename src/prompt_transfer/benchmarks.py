"""Snakemake benchmark files of the compute jobs, gathered into one table.

Snakemake writes one TSV per job (column `s`: wall-clock seconds, `max_rss`: peak resident
memory in MB, "NA" or "-" where it could not be measured); a file holds one row per measurement
(several when a rule uses `repeat()`).

Also the hardware reference the speed benchmarks (benchmarks/) divide by: `matmul_peak`.
"""

from __future__ import annotations

import itertools
import time

import pandas as pd
import torch

COLUMNS = ["rule", "wildcards", "wall_seconds", "max_rss_mb"]


def jobs_of(rule: str, **values: list) -> list[dict]:
    """{"rule", "wildcards"} of `rule`'s jobs, one per combination of the wildcard values."""
    names = list(values)
    return [
        {"rule": rule, "wildcards": dict(zip(names, combination))}
        for combination in itertools.product(*values.values())
    ]


def wildcards_label(wildcards: dict) -> str:
    """Wildcards as Snakemake prints them: "backbone=minilm, task=sst2"."""
    return ", ".join(f"{name}={value}" for name, value in wildcards.items())


def read_benchmark(path) -> pd.DataFrame:
    """Wall seconds and peak RSS (MB) of every measurement in one benchmark file."""
    raw = pd.read_csv(path, sep="\t", na_values=["NA", "-"])
    missing = {"s", "max_rss"} - set(raw.columns)
    if missing:
        raise ValueError(f"{path}: not a Snakemake benchmark file (no column {', '.join(sorted(missing))})")
    return pd.DataFrame({"wall_seconds": raw["s"], "max_rss_mb": raw["max_rss"]})


def benchmark_table(jobs: list[dict], paths: list[str]) -> pd.DataFrame:
    """One row per measurement: the job's rule and wildcards (`jobs`, as from `jobs_of`,
    aligned with `paths`), wall seconds and peak RSS."""
    if len(jobs) != len(paths):
        raise ValueError(f"{len(jobs)} jobs but {len(paths)} benchmark files")
    frames = []
    for job, path in zip(jobs, paths):
        frame = read_benchmark(path)
        frame.insert(0, "wildcards", wildcards_label(job["wildcards"]))
        frame.insert(0, "rule", job["rule"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so that a wall-clock time covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(dtype: torch.dtype, device: torch.device | str = "cpu", n: int = 2048, seconds: float = 2.0) -> float:
    """Best FLOP/s of n x n matrix products on `device` over three timed windows (fp32 products
    use TF32 where torch's float32 matmul precision allows it)."""
    device = torch.device(device)
    a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
    for _ in range(3):
        a @ b
    synchronize(device)
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(8):  # several products per check, so the loop keeps a GPU's queue full
                a @ b
            count += 8
            synchronize(device)
        best = max(best, 2 * n**3 * count / (time.perf_counter() - start))
    return best
