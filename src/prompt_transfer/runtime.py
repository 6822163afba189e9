"""Device, precision and thread settings for one job.

bf16 autocast is several times faster than fp32 on CPUs with AVX-512 BF16 or AMX and on
recent GPUs, and slower without them, so it is detected, never assumed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

log = logging.getLogger(__name__)

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return any(flag in cpu_flags() for flag in BF16_CPU_FLAGS)
    return False


@dataclass(frozen=True)
class Runtime:
    """Where and how a job computes: device, autocast dtype (or None for fp32), threads."""

    device: torch.device
    autocast_dtype: torch.dtype | None
    threads: int

    @property
    def precision(self) -> str:
        return "bf16" if self.autocast_dtype == torch.bfloat16 else "fp32"

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def describe(self) -> dict:
        return {"device": str(self.device), "precision": self.precision, "threads": self.threads}


def choose_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def setup_runtime(threads: int | None = None, precision: str = "auto", device: str = "auto") -> Runtime:
    """Fix the thread count (so parallel jobs do not oversubscribe cores) and pick precision.

    precision: "auto" uses bf16 autocast where the hardware supports it, else fp32;
    "bf16" and "fp32" force the choice.
    """
    if threads:
        torch.set_num_threads(threads)
        # The tokenizers' Rust thread pool would otherwise use every core.
        os.environ["RAYON_NUM_THREADS"] = str(threads)
    dev = choose_device(device)
    if precision == "auto":
        use_bf16 = bf16_supported(dev)
    elif precision == "bf16":
        use_bf16 = True
    elif precision == "fp32":
        use_bf16 = False
    else:
        raise ValueError(f"precision must be auto, bf16 or fp32, not {precision!r}")
    runtime = Runtime(dev, torch.bfloat16 if use_bf16 else None, torch.get_num_threads())
    log.info("runtime: %s", runtime.describe())
    return runtime


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a dedicated CPU generator for explicit draws."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


VERSIONED_PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "peft", "snakemake", "prompt-transfer")


def code_version() -> str:
    """The git commit of this package's checkout ("+dirty" with uncommitted changes to tracked
    files), or "unknown" outside a git checkout."""
    import subprocess
    from pathlib import Path

    here = Path(__file__).resolve().parent

    def git(*args) -> str:
        return subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True, timeout=10).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".").strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit + ("+dirty" if dirty else "")) if commit else "unknown"


def hardware(device: torch.device) -> dict:
    """The CPU model, core count and (on CUDA) the GPU's name of this machine."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {"cpu": cpu, "cpu_cores": os.cpu_count(), "gpu": gpu}


def environment(device: torch.device) -> dict:
    """What a result was computed with: package versions, code version, hardware."""
    import importlib.metadata
    import sys

    versions = {"python": sys.version.split()[0]}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {"versions": versions, "code_version": code_version(), "hardware": hardware(device)}
