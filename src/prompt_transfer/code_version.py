"""The version of the code a job runs: its script and every module of this package the script
imports, directly or through other modules (also imports inside functions).

Rules declare it as a param, so Snakemake re-runs a job when, and only when, that code changes:
a fix in the scorers re-runs training and evaluation, a change to the plots re-draws figures.
Each file counts by its syntax tree without docstrings, so comments, docstrings and formatting
change nothing, and nothing depends on where the checkout lives. A dry run shows the before and
after versions of a re-run job, file by file, under "Params have changed".
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@functools.cache
def _module_imports(name: str) -> set[str]:
    return _package_imports(_tree(PACKAGE / f"{name}.py"))


def _package_imports(tree: ast.Module) -> set[str]:
    """Names of this package's modules that `tree` imports."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("prompt_transfer.")}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 or module == "prompt_transfer" or module.startswith("prompt_transfer."):
                inside = module.removeprefix("prompt_transfer").lstrip(".") if node.level == 0 else module
                # `from . import a, b` and `from prompt_transfer import a` name modules; the others name one.
                found |= {alias.name for alias in node.names} if not inside else {inside.split(".")[0]}
    return {name for name in found if (PACKAGE / f"{name}.py").is_file()}


def modules_of(script: str | Path) -> list[str]:
    """The package modules `script` runs, sorted."""
    seen: set[str] = set()
    todo = list(_package_imports(_tree(Path(script).resolve())))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _module_imports(name)
    return sorted(seen)


def _digest(path: Path) -> str:
    tree = _tree(path)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:12]


@functools.cache
def code_version(script: str | Path) -> str:
    """'<script>=<digest> <module>=<digest> ...' for `script` and the modules it runs."""
    script = Path(script).resolve()
    files = [(script.name, script)] + [(f"{name}.py", PACKAGE / f"{name}.py") for name in modules_of(script)]
    return " ".join(f"{label}={_digest(path)}" for label, path in files)
