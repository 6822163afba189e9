"""A real single-node SLURM cluster on this machine, for integration tests.

Debian's slurm-wlm (slurmctld, slurmd, slurm-client) and munge, set up as in
docs/local-slurm.md: partitions `cpu` (default) and `gpu` (two fake GPU devices), no
accounting database. The daemons run in the foreground as children of the test process, so
they are stopped by PID. State, logs, the munge key and socket live in a private folder; only
the configuration is written to /etc/slurm, because jobs call `srun` inside their allocation and
the SLURM executor plugin drops SLURM_CONF from the jobs' environment. Needs root.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_DIR = Path("/etc/slurm")
MARKER = "# written by prompt-transfer's tests/local_slurm.py; removed when the test cluster stops"
DAEMONS = ("munged", "slurmctld", "slurmd")
# What the node declares, whatever the machine has (SlurmdParameters=config_overrides), so the
# rules' memory requests fit; nothing enforces it (no cgroups), and the test jobs need far less.
NODE_MEMORY_MB = 16000
ACTIVE_STATES = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED")


class ClusterError(RuntimeError):
    """The test cluster could not be started (the message says why)."""


def missing_requirements() -> list[str]:
    """What this machine lacks to run the test cluster (empty when nothing)."""
    missing = [name for name in (*DAEMONS, "munge", "sinfo", "squeue", "scancel") if not shutil.which(name)]
    if os.geteuid() != 0:
        missing.append("root (the daemons run as root)")
    return missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalSlurm:
    root: Path
    host: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, timeout: float = 30) -> None:
        """Write the configuration, start munged, slurmctld and slurmd, wait for an idle node."""
        for path in (CONFIG_DIR / "slurm.conf", CONFIG_DIR / "gres.conf"):
            if path.exists() and not path.read_text().startswith(MARKER):
                raise ClusterError(f"{path} exists and is not the test cluster's: refusing to overwrite it")
        for sub in ("munge", "state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._start_munge()
        self._write_config()
        self._spawn("slurmctld", ["slurmctld", "-D"])
        self._spawn("slurmd", ["slurmd", "-D", "-N", self.host])
        deadline = time.monotonic() + timeout
        while self.node_state() != "idle":
            self._check_alive()
            if time.monotonic() > deadline:
                raise ClusterError(f"node not idle after {timeout} s (state {self.node_state()!r})\n{self.log_tail()}")
            time.sleep(0.5)

    def _start_munge(self) -> None:
        munge = self.root / "munge"
        munge.chmod(0o755)  # munged requires a socket folder that everyone may enter
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self.munge_socket = munge / "munge.socket"
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                f"--socket={self.munge_socket}",
                f"--key-file={key}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
                f"--seed-file={munge / 'munged.seed'}",
            ],
        )
        deadline = time.monotonic() + 10
        while not self.munge_socket.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                raise ClusterError(f"munged created no socket\n{self.log_tail()}")
            time.sleep(0.1)

    def _write_config(self) -> None:
        devices = [self.root / f"fakegpu{i}" for i in range(2)]
        for minor, device in enumerate(devices, start=250):
            if not device.exists():
                os.mknod(
                    device, 0o666 | stat.S_IFCHR, os.makedev(195, minor)
                )  # like /dev/nvidia*; slurmd drops file-less GPUs
        r = self.root
        settings = {
            "ClusterName": "prompttransfertest",
            "SlurmctldHost": f"{self.host}(127.0.0.1)",
            "SlurmUser": "root",
            "SlurmdUser": "root",
            "SlurmctldPort": free_port(),
            "SlurmdPort": free_port(),
            "AuthType": "auth/munge",
            "CredType": "cred/munge",
            "AuthInfo": f"socket={self.munge_socket}",
            "StateSaveLocation": r / "state",
            "SlurmdSpoolDir": r / "spool",
            "SlurmctldPidFile": r / "slurmctld.pid",
            "SlurmdPidFile": r / "slurmd.pid",
            "SlurmctldLogFile": r / "log" / "slurmctld.log",
            "SlurmdLogFile": r / "log" / "slurmd.log",
            "ProctrackType": "proctrack/linuxproc",
            "TaskPlugin": "task/none",
            "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_Core_Memory",
            "SchedulerType": "sched/backfill",
            "ReturnToService": 2,
            "MpiDefault": "none",
            "AccountingStorageType": "accounting_storage/none",
            "JobAcctGatherType": "jobacct_gather/none",
            "JobCompType": "jobcomp/none",
            "MinJobAge": 3600,  # finished jobs stay visible to squeue (the plugin's status command here) and the test
            "GresTypes": "gpu",
            "SlurmdParameters": "config_overrides",
        }
        lines = [MARKER, *(f"{key}={value}" for key, value in settings.items())]
        lines += [
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={NODE_MEMORY_MB} Gres=gpu:2 State=UNKNOWN",
            f"PartitionName=cpu Nodes={self.host} Default=YES MaxTime=INFINITE State=UP",
            f"PartitionName=gpu Nodes={self.host} Default=NO MaxTime=INFINITE State=UP",
        ]
        CONFIG_DIR.mkdir(exist_ok=True)
        (CONFIG_DIR / "slurm.conf").write_text("\n".join(lines) + "\n")
        gres = f"NodeName={self.host} Name=gpu File={self.root}/fakegpu[0-1]"
        (CONFIG_DIR / "gres.conf").write_text(f"{MARKER}\n{gres}\n")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        with open(self.root / "log" / f"{name}.out", "w") as out:  # the daemon keeps its own copy
            self.daemons[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def _check_alive(self) -> None:
        for name, process in self.daemons.items():
            if process.poll() is not None:
                raise ClusterError(f"{name} exited with code {process.returncode}\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)

    def node_state(self) -> str:
        """The node's state, e.g. "idle" ("" while slurmctld does not answer)."""
        result = subprocess.run(
            ["sinfo", "-h", "-N", "-p", "cpu", "-o", "%T"], check=False, capture_output=True, text=True
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    def jobs(self) -> list[dict]:
        """Every job the cluster knows (finished ones for MinJobAge seconds)."""
        fields = {
            "id": "JobID",
            "state": "State",
            "partition": "Partition",
            "gpus": "tres-per-job",
            "comment": "Comment",
        }
        result = subprocess.run(
            ["squeue", "--states=all", "--noheader", "--Format", ",".join(f"{f}:|" for f in fields.values())],
            capture_output=True,
            text=True,
            check=True,
        )
        return [dict(zip(fields, line.split("|"))) for line in result.stdout.splitlines()]

    def stop(self, timeout: float = 20) -> None:
        """Cancel every job still queued or running, stop the daemons by PID (SIGTERM, then
        SIGKILL after `timeout` seconds) and remove the configuration."""
        deadline = time.monotonic() + timeout
        try:
            # slurmstepd outlives slurmd by design, so jobs must end before the daemons do
            while self.daemons.get("slurmctld") and self.daemons["slurmctld"].poll() is None:
                active = [job["id"] for job in self.jobs() if job["state"] in ACTIVE_STATES]
                if not active or time.monotonic() > deadline:
                    break
                subprocess.run(["scancel", *active], check=False, timeout=timeout)
                time.sleep(1)
        finally:
            deadline = time.monotonic() + timeout
            for name in reversed(list(self.daemons)):
                process = self.daemons[name]
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(max(0.1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
            for path in (CONFIG_DIR / "slurm.conf", CONFIG_DIR / "gres.conf"):
                if path.exists() and path.read_text().startswith(MARKER):
                    path.unlink()


def private_root() -> Path:
    """A fresh folder for the cluster's state; world-enterable, as munged demands of the
    folder that holds its socket (pytest's own temporary folders are not)."""
    root = Path(tempfile.mkdtemp(prefix="prompt-transfer-slurm-"))
    root.chmod(0o755)
    return root
