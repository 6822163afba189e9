"""Warm evaluation workers: the zero-shot jobs' fixed cost (start Python, import torch and
transformers, load the backbone: about 5 s) paid once per worker instead of once per job.

A study has one small evaluation job per (source, target) pair. Each stays its own Snakemake
job with its own outputs, but its script only forwards the request to a worker that keeps
backbones loaded and validation splits tokenised (a session.Session). Workers are started
on demand, one per concurrently running job ("slot"; a job holds its slot's lock for the whole
request, so slots never serve two jobs at once), and exit after `IDLE_SECONDS` without work.

Workers are keyed by the Python interpreter, the thread count and the package's source files,
so a changed checkout never talks to a stale worker. They are not used under SLURM (a job's
processes must end with the job) or when PROMPT_TRANSFER_WORKERS=0. If a worker cannot be
started or dies, the job runs in its own process: the result is the same either way.

This module's top level imports only the standard library: the client side must start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
import typing
from collections.abc import Callable
from pathlib import Path

from .errors import UserError

IDLE_SECONDS = 60
START_TIMEOUT = 300
MAX_SLOTS = 64
WORKER_DIR = Path(".snakemake") / "prompt-transfer-workers"

log = logging.getLogger(__name__)


class WorkerUnavailable(RuntimeError):
    """No worker could serve the request; the caller runs the job itself."""


def enabled() -> bool:
    return os.environ.get("PROMPT_TRANSFER_WORKERS", "1") != "0" and "SLURM_JOB_ID" not in os.environ


def worker_key(threads: int | None) -> str:
    """Identifies workers that may serve this process: same interpreter, threads and code."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"{sys.executable}|{threads}".encode())
    for source in sorted(package.rglob("*.py")):
        stat = source.stat()
        digest.update(f"{source}|{stat.st_mtime_ns}|{stat.st_size}".encode())
    return digest.hexdigest()[:16]


# --- client ---------------------------------------------------------------------------------


def _send(sock_path: Path, request: dict) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(sock_path))
        conn.sendall(json.dumps(request).encode() + b"\n")
        reply = conn.makefile("rb").readline()
    if not reply:
        raise ConnectionResetError("the worker closed the connection without a reply")
    return json.loads(reply)


@contextlib.contextmanager
def _slot(key: str):
    """Hold the lock of the first free slot; yield its socket path."""
    WORKER_DIR.mkdir(parents=True, exist_ok=True)
    for slot in range(MAX_SLOTS):
        lock = open(WORKER_DIR / f"{key}.{slot}.lock", "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        try:
            yield WORKER_DIR / f"{key}.{slot}.sock"
        finally:
            lock.close()
        return
    raise WorkerUnavailable(f"all {MAX_SLOTS} worker slots are busy")


def _start(sock_path: Path, threads: int | None) -> subprocess.Popen:
    sock_path.unlink(missing_ok=True)  # a crashed worker's leftover; we hold the slot
    cmd = [
        sys.executable,
        "-m",
        "prompt_transfer.worker",
        "--socket",
        str(sock_path),
        "--idle-seconds",
        str(IDLE_SECONDS),
    ]
    if threads:
        cmd += ["--threads", str(threads)]
    with open(sock_path.with_suffix(".log"), "ab") as worker_log:
        return subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=worker_log, start_new_session=True
        )


def _wait_ready(sock_path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if _send(sock_path, {"function": "ping"}).get("ok"):
                return
        except OSError:
            pass
        if process.poll() is not None:
            raise WorkerUnavailable(
                f"the worker exited with code {process.returncode} (see {sock_path.with_suffix('.log')})"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise WorkerUnavailable(f"the worker did not start within {START_TIMEOUT} s")
        time.sleep(0.05)


def submit(function: str, kwargs: dict, threads: int | None) -> dict:
    """Run the job function named `function` (see `job_function`) with `kwargs` on a warm worker;
    return its reply.

    Raises UserError for the user's mistakes (as the job itself would), WorkerUnavailable
    when no worker can serve, RuntimeError when the job failed in the worker.
    """
    with _slot(worker_key(threads)) as sock_path:
        request = {"function": function, "kwargs": kwargs, "threads": threads}
        try:
            reply = _send(sock_path, request)
        except OSError:
            _wait_ready(sock_path, _start(sock_path, threads))
            try:
                reply = _send(sock_path, request)
            except OSError as e:
                raise WorkerUnavailable(f"the worker failed: {e}") from e
    if "error" in reply:
        raise (UserError if reply["kind"] == "user" else RuntimeError)(reply["error"])
    return reply


def job_function(name: str) -> tuple[Callable, type]:
    """The job function of its full name ("prompt_transfer.evaluation.run_transfer_job") and the
    spec type of its `job` argument, read from its annotation. Scripts name the function rather
    than import it: importing it imports torch, the cost the workers save. Only the package's own
    functions are served."""
    module, _, attribute = name.rpartition(".")
    if module != __package__ and not module.startswith(f"{__package__}."):
        raise ValueError(f"{name!r} is not a function of {__package__}")
    function = getattr(importlib.import_module(module), attribute)
    return function, typing.get_type_hints(function)["job"]


def run_job(function: str, spec, kwargs: dict, threads: int | None, log_file: str | None) -> None:
    """An evaluation script's body: function(spec, **kwargs, threads=...) on a warm worker when
    possible, else in this process. `function` is the job function's full name; `spec` the job's
    spec; `kwargs` its paths, as the rule gave them: the worker runs the job in this process's
    working directory, so results record the same paths either way."""
    if enabled():
        try:
            submit(function, {"job": spec.to_dict(), **kwargs, "log_file": log_file, "cwd": os.getcwd()}, threads)
            return
        except WorkerUnavailable as e:
            log.warning("no evaluation worker (%s): evaluating in this process", e)
    run, _ = job_function(function)
    run(spec, **kwargs, threads=threads)


# --- server ---------------------------------------------------------------------------------


def _handle(request: dict, session) -> dict:
    if request["function"] == "ping":
        return {"ok": True, "pid": os.getpid()}
    kwargs = dict(request["kwargs"])
    log_file = kwargs.pop("log_file", None)
    with _working_directory(kwargs.pop("cwd", None)):
        return _run(request["function"], kwargs, log_file, request["threads"], session)


@contextlib.contextmanager
def _working_directory(path: str | None):
    """The client's working directory for one request (served one at a time), so the job's
    paths mean what they mean to the job (and results record them as the rule gave them)."""
    home = os.getcwd()
    os.chdir(path or home)
    try:
        yield
    finally:
        os.chdir(home)


def _run(function: str, kwargs: dict, log_file: str | None, threads: int | None, session) -> dict:
    run, spec_type = job_function(function)
    kwargs["job"] = spec_type.from_dict(kwargs["job"])
    handler = logging.FileHandler(log_file, mode="a", encoding="utf-8") if log_file else None
    if handler:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
    try:
        log.info("worker %d serves %s", os.getpid(), function)
        result = run(**kwargs, threads=threads, session=session)
        return {"ok": True, "pid": os.getpid(), "result": result}
    except UserError as e:
        return {"error": str(e), "kind": "user"}
    except Exception as e:  # noqa: BLE001 - reported to the job, which fails with it
        log.exception("job failed in the worker")
        return {"error": f"{type(e).__name__}: {e}", "kind": "internal"}
    finally:
        if handler:
            logging.getLogger().removeHandler(handler)
            handler.close()


def serve(sock_path: Path, threads: int | None, idle_seconds: float) -> None:
    """Answer requests until idle for `idle_seconds` while no client holds this slot."""
    from .runtime import setup_runtime
    from .session import Session

    setup_runtime(threads)  # import torch and fix threads before accepting anything
    session = Session()
    lock_path = sock_path.with_suffix(".lock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(sock_path))
        server.listen(8)
        server.settimeout(idle_seconds)
        while True:
            try:
                conn, _ = server.accept()
            except socket.timeout:
                with open(lock_path, "a") as lock:
                    try:  # a client holding the slot may be about to connect: keep serving
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue
                    sock_path.unlink(missing_ok=True)
                    return
            with conn:
                conn.settimeout(None)
                request = json.loads(conn.makefile("rb").readline())
                conn.sendall(json.dumps(_handle(request, session)).encode() + b"\n")


def main() -> None:
    p = argparse.ArgumentParser(description="A warm evaluation worker (started by the evaluation scripts).")
    p.add_argument("--socket", required=True, type=Path)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--idle-seconds", type=float, default=IDLE_SECONDS)
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(a.socket, a.threads, a.idle_seconds)


if __name__ == "__main__":
    main()
