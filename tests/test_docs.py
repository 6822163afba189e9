"""Every command the README and docs/ show can run after the README's install: the scripts they
name import only installed modules, and the study files they layer exist and are valid. Every
link between them leads to a file and a heading that exist, and the README links every page of
docs/. And what
docs/design.md says of the layout: each script in workflow_scripts/ is named after its rule."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys

import pytest
from conftest import REPO

from prompt_transfer.config import main as check_config

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
COMMANDS = "\n".join(
    line for doc in DOCS for line in doc.read_text().splitlines() if "python" in line or "snakemake" in line
)
SCRIPTS = sorted(set(re.findall(r"python3? ((?:benchmarks|workflow_scripts)/\w+\.py)", COMMANDS)))
RULES = "\n".join(path.read_text() for path in sorted((REPO / "rules").glob("*.smk")))
STUDIES = sorted(set(re.findall(r"--configfile (studies/[\w.-]+\.yaml)", COMMANDS)))


def imported_modules(path) -> set[str]:
    """Top-level names of every module `path` imports, also inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def headings(doc) -> set[str]:
    """GitHub's anchors of `doc`'s headings (lower case, punctuation dropped, spaces to hyphens)."""
    text = re.sub(r"^```.*?^```", "", doc.read_text(), flags=re.M | re.S)
    titles = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


def links(doc) -> list[tuple[str, str]]:
    """(path, anchor) of every relative link of `doc`, outside code."""
    text = re.sub(r"^```.*?^```", "", doc.read_text(), flags=re.M | re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [tuple(target.partition("#")[::2]) for target in targets if "://" not in target]


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)
def test_every_link_leads_to_a_file_and_heading_that_exist(doc):
    for path, anchor in links(doc):
        target = (doc.parent / path).resolve() if path else doc
        assert target.exists(), f"{doc.name}: link to {path}, which does not exist"
        if anchor:
            assert anchor in headings(target), f"{doc.name}: link to {path}#{anchor}, no such heading"


def test_the_readme_links_every_page_of_the_docs():
    linked = {(REPO / path).resolve() for path, _ in links(REPO / "README.md")}
    assert not set(DOCS[1:]) - linked, "pages of docs/ the README does not link"


def test_the_docs_name_scripts_and_study_files():
    assert "benchmarks/speed.py" in SCRIPTS and "studies/smollm2.yaml" in STUDIES


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_the_docs_run_imports_only_installed_modules(script):
    path = REPO / script
    assert path.is_file(), script
    local = {p.stem for p in path.parent.glob("*.py")}
    missing = {
        name
        for name in imported_modules(path) - local - set(sys.stdlib_module_names)
        if importlib.util.find_spec(name) is None
    }
    assert not missing, f"{script} imports {sorted(missing)}, which the install does not provide"


@pytest.mark.parametrize("study", STUDIES)
def test_every_study_file_the_docs_use_is_valid(study, capsys, tmp_path, monkeypatch, released_prompts):
    # Where the README says to clone the authors' repository: their prompts, in their layout.
    checkout = tmp_path / "Prompt-Transferability" / "Prompt-Transferability-1.0"
    checkout.mkdir(parents=True)
    (checkout / "task_prompt_emb").symlink_to(released_prompts)
    monkeypatch.chdir(tmp_path)
    assert check_config([str(REPO / "config.yaml"), str(REPO / study)]) == 0, capsys.readouterr().out


def test_every_script_is_named_after_the_rule_that_runs_it():
    # A rule names its script in params (script_params); script_job, their base, runs none itself.
    blocks = re.findall(r"^(?:rule|checkpoint|use rule \w+ as) (\w+)(?: with)?:\n(.*?)(?=^\S|\Z)", RULES, re.M | re.S)
    runs = {rule: re.findall(r'script_params\(\s*"(\w+)"', body) for rule, body in blocks}
    assert runs.pop("script_job") == []
    for script in sorted((REPO / "workflow_scripts").glob("*.py")):
        assert runs.get(script.stem) == [script.stem], f"no rule {script.stem} runs {script.name}"
    assert {script for scripts in runs.values() for script in scripts} <= set(runs)
