"""Files from outside that do not parse: one line naming the file (and line), no traceback, no output."""

import datetime
import os
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import REPO
from test_data import GOOD, toy_job, write_task

from prompt_transfer import data, prompts
from prompt_transfer.config import ConfigError, read_yaml_file
from prompt_transfer.config import main as config_main
from prompt_transfer.errors import FileFormatError
from prompt_transfer.io import save_tensors

BOM = "\ufeff"


def test_jsonl_and_meta_with_a_byte_order_mark_load(tmp_path):
    folder = write_task(tmp_path, GOOD, GOOD)
    for name in ("train.jsonl", "meta.json"):
        path = folder / name
        path.write_text(BOM + path.read_text(encoding="utf-8"), encoding="utf-8")
    rows = data.load_local(tmp_path, "toy", ["negative", "positive"])
    assert rows["train"][0] == GOOD[0]


@pytest.mark.parametrize(
    "meta, message",
    [
        ('{"labels": ["negative", "positive"]', "meta.json:1: not valid JSON (Expecting ',' delimiter)"),
        ('{"labels": "negative,positive"}', "meta.json: expected an object whose 'labels' is a list"),
        ('["negative", "positive"]', "meta.json: expected an object whose 'labels' is a list"),
    ],
)
def test_a_bad_meta_json_is_named_and_leaves_no_output(tmp_path, meta, message):
    folder = write_task(tmp_path / "src", GOOD, GOOD)
    (folder / "meta.json").write_text(meta)
    with pytest.raises(FileFormatError) as error:
        data.prepare_task_data(toy_job(tmp_path / "src"), tmp_path / "out")
    assert str(error.value) == f"{folder}/{message}"
    assert not (tmp_path / "out").exists()


def write_bad_prompt(path, kind):
    if kind == "text":
        path.write_text("hello, not a tensor\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "pickle":  # a pickled object that weights-only loading refuses
        torch.save({"prompt": datetime.date(2022, 7, 10)}, path)
    else:
        save_tensors(path, {"prompt": torch.zeros(4, 8)})
        path.write_bytes(path.read_bytes()[: -20 if kind == "truncated" else 7])


BAD_PROMPTS = [
    ("p.pt", "text", "not a torch file of plain tensors (read weights-only)"),
    ("p.pt", "empty", "not a torch file of plain tensors (read weights-only)"),
    ("p.pt", "pickle", "not a torch file of plain tensors (read weights-only)"),
    ("p.safetensors", "truncated", "not a valid safetensors file (Error while deserializing header: incomplete"),
    ("p.safetensors", "garbage", "not a valid safetensors file (Error while deserializing header"),
]


@pytest.mark.parametrize("name, kind, message", BAD_PROMPTS)
def test_a_prompt_file_that_does_not_parse_is_named(tmp_path, name, kind, message):
    write_bad_prompt(tmp_path / name, kind)
    with pytest.raises(FileFormatError) as error:
        prompts.load_prompt(tmp_path / name)
    assert str(error.value).startswith(f"{tmp_path / name}: {message}")


def test_a_script_reports_a_bad_prompt_file_in_one_line(tmp_path):
    write_bad_prompt(tmp_path / "p.pt", "pickle")
    code = "from prompt_transfer import cli, prompts; cli.run(cli.parser('x'), lambda a: prompts.load_prompt('p.pt'))"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.endswith("p.pt: not a torch file of plain tensors (read weights-only)")
    assert "weights_only" not in result.stderr and "Traceback" not in result.stderr


def test_a_yaml_file_that_does_not_parse_is_named_with_its_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(BOM + "study:\n  tasks: [sst2\ntraining: {a: 1}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        read_yaml_file(path)
    assert str(error.value) == f"{path}:3:9: not valid YAML (expected ',' or ']', but got ':')"
    path.write_text(BOM + "study: {tasks: [sst2]}\n", encoding="utf-8")
    assert read_yaml_file(path) == {"study": {"tasks": ["sst2"]}}


def test_the_config_check_names_a_broken_study_file_and_line(tmp_path, capsys):
    """Snakemake reads --configfile files before the workflow can check them; the check can."""
    study = tmp_path / "study.yaml"
    study.write_text("study:\n  tasks: [sst2\ntraining: {a: 1}\n")
    assert config_main([str(REPO / "config.yaml"), str(study)]) == 1
    assert capsys.readouterr().out == f"error: {study}:3:9: not valid YAML (expected ',' or ']', but got ':')\n"
    study.write_text("study: {tasks: [sst2, no_such_task]}\n")
    assert config_main([str(REPO / "config.yaml"), str(study)]) == 1
    assert "study.tasks: unknown task 'no_such_task'" in capsys.readouterr().out
    assert config_main([str(REPO / "config.yaml"), str(REPO / "studies/smollm2.yaml")]) == 0


@pytest.mark.workflow
def test_a_broken_registry_stops_snakemake_with_file_and_line(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for part in ("Snakefile", "config.yaml", "rules", "report", "profiles"):
        copy = shutil.copytree if (REPO / part).is_dir() else shutil.copy
        copy(REPO / part, repo / part)
    (repo / "src").symlink_to(REPO / "src")
    registry = repo / "config.yaml"
    registry.write_text(registry.read_text() + "oops: [\n")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path / "wd"), "-n"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    lines = len(registry.read_text().splitlines())
    assert f"error: {registry}:{lines + 1}:1: not valid YAML" in result.stderr
    assert not (tmp_path / "wd" / "results").exists()
