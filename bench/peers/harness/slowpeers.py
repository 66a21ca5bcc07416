"""Airflow 3 (SQLite, LocalExecutor) and Prefect 3 (local server, SQLite), each in its own virtual
environment under the cache folder (their dependencies do not mix with Temporal's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from systems import (
    AIRFLOW_VERSION,
    CACHE,
    PEERS,
    PREFECT_VERSION,
    InstallError,
    Proc,
    System,
    dir_size,
    http,
    loadgen,
    run,
    wait_until,
)


def venv(name: str, package: str, version: str) -> Path:
    v = CACHE / f"venv-{name}"
    py = v / "bin" / "python"
    if py.exists():
        p = subprocess.run([v / "bin" / "pip", "show", package], capture_output=True, text=True)
        if p.returncode == 0 and f"Version: {version}" in p.stdout:
            return v
    if not py.exists():
        run(["python3", "-m", "venv", v], what=f"python3 -m venv {v}")
        run([v / "bin" / "pip", "install", "-q", "--upgrade", "pip"], what="pip install --upgrade pip")
    run([v / "bin" / "pip", "install", "-q", f"{package}=={version}"], what=f"pip install {package}=={version}",
        timeout=3600)
    return v


class Airflow(System):
    name = "airflow"
    label = f"Airflow {AIRFLOW_VERSION}"
    port = 18090
    method = ("REST API `POST /api/v2/dags/{dag}/dagRuns`, then GET the run every 50 ms until it has ended "
              "(no call answers at the end)")

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.venv = CACHE / "venv-airflow"
        self.token = None

    def install(self) -> None:
        self.venv = venv("airflow", "apache-airflow", AIRFLOW_VERSION)

    def version(self) -> str:
        return f"apache-airflow {AIRFLOW_VERSION}, LocalExecutor, SQLite, `airflow standalone`"

    def size(self) -> dict:
        return {"bytes": dir_size(self.venv), "what": "its virtual environment (Python packages)"}

    def env(self) -> dict:
        home = self.workdir / "home"
        return dict(
            os.environ,
            PATH=f"{self.venv / 'bin'}:{os.environ.get('PATH', '')}",
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(PEERS / "airflow"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            # SQLite's default 5 s busy timeout makes the scheduler die with "database is locked"
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db?timeout=60",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(self.port),
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{self.port}/execution/",
            AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="10000",
            AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG="10000",
            AIRFLOW__CORE__PARALLELISM="32",
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        )

    def start(self, fresh: bool = True) -> float:
        if fresh and self.workdir.exists():
            shutil.rmtree(self.workdir)
        (self.workdir / "home").mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        p = Proc("airflow", [self.venv / "bin" / "airflow", "standalone"], cwd=self.workdir, env=self.env(),
                 logfile=self.workdir / "standalone.log")
        self.procs = [p]

        def ready():
            if not p.alive():
                raise InstallError(f"airflow standalone exited {p.popen.returncode}:\n{p.tail()}")
            self._auth()
            s, body = self._get("/api/v2/dags/seq1")
            return s == 200

        if not wait_until(ready, 300, 0.1):
            raise InstallError(f"airflow did not serve the DAGs within 300 s:\n{p.tail()}")
        return time.monotonic() - t0

    def _auth(self):
        if self.token:
            return
        s, body = http("POST", f"http://127.0.0.1:{self.port}/auth/token", b"{}",
                       {"Content-Type": "application/json"}, timeout=5)
        if s // 100 == 2:
            self.token = json.loads(body).get("access_token")

    def headers(self) -> dict:
        h = {"Content-Type": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    def _get(self, path):
        return http("GET", f"http://127.0.0.1:{self.port}{path}", headers=self.headers(), timeout=30)

    def stop(self) -> None:
        super().stop()
        self.token = None

    def target(self, flow: str, arg=None) -> dict:
        return {
            "url": f"http://127.0.0.1:{self.port}/api/v2/dags/{flow}/dagRuns",
            "headers": self.headers(),
            "body": json.dumps({"logical_date": None}),
            "state_path": "state",
            "ok_states": ["success"],
            "fail_states": ["failed"],
            "id_path": "dag_run_id",
            "poll_url": f"http://127.0.0.1:{self.port}/api/v2/dags/{flow}/dagRuns/{{id}}",
            "poll_interval_ms": 50,
        }

    def seq(self, flow, count, warmup, timeout=120, arg=None):
        spec = dict(self.target(flow), mode="seq", count=count, warmup=warmup, timeout_s=timeout)
        spec["headers"] = self.headers()
        return loadgen(spec, timeout * (count + warmup))

    def start_nowait(self, flow: str) -> str:
        s, body = http("POST", f"http://127.0.0.1:{self.port}/api/v2/dags/{flow}/dagRuns",
                       json.dumps({"logical_date": None}).encode(), self.headers())
        if s // 100 != 2:
            raise RuntimeError(f"HTTP {s}: {body[:200]!r}")
        return f"{flow}/{json.loads(body)['dag_run_id']}"

    def state(self, execution_id: str):
        flow, run_id = execution_id.split("/", 1)
        try:
            self._auth()
            s, body = self._get(f"/api/v2/dags/{flow}/dagRuns/{run_id}")
        except OSError:
            return "running"
        if s == 404:
            return None
        if s != 200:
            return "running"
        st = json.loads(body)["state"]
        return {"success": "ok", "failed": "failed"}.get(st, "running")


class Prefect(System):
    name = "prefect"
    label = f"Prefect {PREFECT_VERSION}"
    port = 18091
    method = ("the flow is called in the driver's process (Prefect's engine reports every state to the local "
              "server); the call returns at the end")

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.venv = CACHE / "venv-prefect"

    def install(self) -> None:
        self.venv = venv("prefect", "prefect", PREFECT_VERSION)

    def version(self) -> str:
        return f"prefect {PREFECT_VERSION}, `prefect server start` (SQLite)"

    def size(self) -> dict:
        return {"bytes": dir_size(self.venv), "what": "its virtual environment (Python packages)"}

    def env(self) -> dict:
        return dict(
            os.environ,
            PREFECT_HOME=str(self.workdir / "home"),
            PREFECT_API_URL=f"http://127.0.0.1:{self.port}/api",
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(self.port),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_UI_ENABLED="false",
            PREFECT_LOGGING_LEVEL="WARNING",
        )

    def start(self, fresh: bool = True) -> float:
        if fresh and self.workdir.exists():
            shutil.rmtree(self.workdir)
        (self.workdir / "home").mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        p = Proc("prefect-server", [self.venv / "bin" / "prefect", "server", "start", "--host", "127.0.0.1",
                                    "--port", self.port], cwd=self.workdir, env=self.env(),
                 logfile=self.workdir / "server.log")
        self.procs = [p]

        def ready():
            if not p.alive():
                raise InstallError(f"prefect server exited {p.popen.returncode}:\n{p.tail()}")
            s, _ = http("GET", f"http://127.0.0.1:{self.port}/api/health", timeout=2)
            return s == 200

        if not wait_until(ready, 300, 0.05):
            raise InstallError(f"prefect server did not answer within 300 s:\n{p.tail()}")
        return time.monotonic() - t0

    def _drive(self, spec: dict, timeout: float) -> dict:
        p = subprocess.run([self.venv / "bin" / "python", PEERS / "prefect" / "driver.py"], input=json.dumps(spec),
                           capture_output=True, text=True, env=self.env(), timeout=timeout + 120,
                           cwd=self.workdir)
        if p.returncode != 0:
            raise RuntimeError(f"prefect driver exited {p.returncode}: {p.stderr.strip()[-800:]}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    def seq(self, flow, count, warmup, timeout=120, arg=None):
        return self._drive({"mode": "seq", "flow": flow, "count": count, "warmup": warmup, "timeout_s": timeout},
                           timeout * (count + warmup))

    def rate(self, flow, rate, duration, timeout=120):
        return self._drive({"mode": "rate", "flow": flow, "rate": rate, "duration_s": duration,
                            "timeout_s": timeout}, duration + timeout)

    def start_many_nowait(self, flow, rate, count):
        raise RuntimeError("not applicable: Prefect runs these flows in the caller's process, so killing the "
                           "server does not leave executions for it to resume")
