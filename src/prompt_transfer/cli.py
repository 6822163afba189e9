"""Shared plumbing of the workflow scripts: arguments, logging, clean error messages.

Informational logging goes to the rule's log file; problems with the user's input go to the
console too, in one line that names the culprit, with no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .errors import UserError

USER_ERRORS = (UserError, FileNotFoundError)

log = logging.getLogger("prompt_transfer")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=None, help="torch threads (Snakemake passes the job's threads)")
    p.add_argument("--log-file", default=None, help="where informational logging goes (default: stderr)")
    return p


def json_arg(text: str):
    return json.loads(text)


def add_job(p: argparse.ArgumentParser, spec_type) -> None:
    """--job: the job's spec (prompt_transfer.specs), as the rule wrote it in JSON."""
    p.add_argument("--job", type=spec_type.from_json, required=True, help=f"JSON: the job's {spec_type.__name__} spec")


def add_model_job(p: argparse.ArgumentParser, spec_type) -> None:
    """--job and --model: a job that runs a backbone."""
    add_job(p, spec_type)
    p.add_argument("--model", required=True, help="backbone manifest (model.json)")


def job_script(description: str, function, spec_type=None, arguments=(), model=False, threads=True) -> None:
    """The whole body of a script whose job is one call: function(job, model, *arguments,
    threads=...) with --job decoded as `spec_type` (if any), --model (if `model`), then each
    of `arguments` in order: "--name" for a required path, or ("--name", argparse options)."""
    p = parser(description)
    if spec_type is not None:
        add_job(p, spec_type)
    if model:
        p.add_argument("--model", required=True, help="backbone manifest (model.json)")
    names = []
    for argument in arguments:
        flag, options = (argument, {}) if isinstance(argument, str) else argument
        p.add_argument(flag, **{"required": "default" not in options, **options})
        names.append(flag.lstrip("-").replace("-", "_"))

    def main(a):
        values = ([a.job] if spec_type else []) + ([a.model] if model else []) + [getattr(a, n) for n in names]
        function(*values, **({"threads": a.threads} if threads else {}))

    run(p, main)


def named_path(value: str) -> tuple[str, str]:
    """A name=path argument -> (name, path)."""
    name, path = value.split("=", 1)
    return name, path


def named_paths(values: list[str]) -> dict[str, str]:
    """name=path arguments -> {name: path}, in order."""
    return dict(map(named_path, values))


def _setup_logging(log_file: str | None) -> None:
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers = []
    if log_file:
        to_file = logging.FileHandler(log_file, mode="w", encoding="utf-8")
        to_file.setFormatter(fmt)
        handlers.append(to_file)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s") if log_file else fmt)
    console.setLevel(logging.WARNING if log_file else logging.INFO)
    handlers.append(console)
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True)


def run(p: argparse.ArgumentParser, main) -> None:
    """Parse arguments, set up logging and call main(args); user errors exit 1 in one line."""
    args = p.parse_args()
    _setup_logging(args.log_file)
    try:
        main(args)
    except USER_ERRORS as e:
        log.error("%s", e)
        sys.exit(1)
    except Exception:
        log.exception("job failed")
        sys.exit(1)
