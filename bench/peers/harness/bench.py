"""Side-by-side benchmark of Peregrine against its peers (see bench/peers/README.md).

Run through scripts/bench-peers, which prepares the virtual environment and the load generator.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import flows
import report
import systems
from systems import CACHE, REPO, InstallError, log

RESULTS = REPO / "bench" / "peers" / "results"
ALL_WORKLOADS = ["W1", "W2", "W3", "W4", "W5"]
ALL_PEERS = ["kestra", "temporal", "restate", "airflow", "prefect"]
RATES = [2**i for i in range(0, 14)]  # 1, 2, 4 ... 8192 executions per second


def pct(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def summarize(r: dict) -> dict:
    lat = sorted(r.get("latencies_ms", []))
    out = {
        "sent": r.get("sent", 0),
        "ok": r.get("ok", 0),
        "failed": r.get("failed", 0),
        "errors": r.get("errors", 0),
        "dropped": r.get("dropped", 0),
        "median_ms": pct(lat, 50),
        "p95_ms": pct(lat, 95),
        "mean_ms": sum(lat) / len(lat) if lat else None,
        "min_ms": lat[0] if lat else None,
        "max_ms": lat[-1] if lat else None,
    }
    if r.get("error_samples"):
        out["error_samples"] = r["error_samples"]
    if r.get("offered_rate"):
        out["offered_rate"] = r["offered_rate"]
    if r.get("end_s"):
        span = max(r["end_s"]) - min(r["start_s"])
        out["completed_per_s"] = len(r["end_s"]) / span if span > 0 else None
        out["last_end_s"] = max(r["end_s"])
    return out


class RssSampler:
    def __init__(self, system: systems.System, interval: float = 0.25):
        self.system = system
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.system.rss_kb())
            except Exception:  # noqa: BLE001
                pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


# ---------------------------------------------------------------------------------------------
def smoke(system, timeout: float = 120) -> float:
    """One 1-task execution right after start; a system that cannot run it is reported broken."""
    r = system.seq("seq1", 1, 0, timeout=timeout)
    if r.get("ok", 0) != 1:
        raise InstallError(
            f"a 1-task execution did not succeed within {timeout:.0f} s: {'; '.join(r.get('error_samples', []))}\n"
            f"{system.logs()[-2500:]}"
        )
    return r["latencies_ms"][0]


def w1(system, quick: bool, slow: bool) -> dict:
    count, warmup = (20, 5) if quick else (30, 5)
    if slow:
        count, warmup = (5, 1) if quick else (10, 2)
    system.start()
    out = {"method": system.method, "samples": count, "warmup": warmup, "flows": {}}
    try:
        smoke(system)
        # a warm-up of the whole path first (a JVM needs it), then `warmup` runs per flow
        warm = 10 if quick else 30
        log(f"{system.name} W1: warm-up {warm} s of seq3 at 2/s")
        system.rate("seq3", 1 if slow else 2, warm, timeout=300)
        for n in flows.SEQ_SIZES:
            log(f"{system.name} W1 seq{n}: {count} runs")
            r = system.seq(f"seq{n}", count, warmup, timeout=300)
            out["flows"][str(n)] = summarize(r)
    finally:
        system.stop()
    return out


def saturated(s: dict, rate: float, duration: float) -> str | None:
    bad = s["failed"] + s["errors"] + s["dropped"]
    if bad > 0.01 * max(1, s["sent"]):
        return f"{bad} of {s['sent']} failed or errored"
    if s["p95_ms"] is None or s["p95_ms"] > 1000:
        return f"p95 {s['p95_ms']:.0f} ms > 1 s" if s["p95_ms"] else "no execution finished"
    if s.get("last_end_s", 0) > duration + 2:
        return f"the last execution ended {s['last_end_s'] - duration:.1f} s after the last start"
    return None


def ladder(system, flow: str, quick: bool, slow: bool, sampler: RssSampler | None) -> dict:
    duration = 5 if quick else 10
    warm = 10 if quick else 30
    log(f"{system.name} {flow}: warm-up {warm} s at 2/s")
    system.rate(flow, 1 if slow else 2, warm, timeout=120)
    steps = []
    sat_rate = None
    for rate in RATES:
        if slow and rate > 16:
            break
        log(f"{system.name} {flow}: {rate}/s for {duration} s")
        peak_before = sampler.peak if sampler else 0
        if sampler:
            sampler.peak = 0
        r = system.rate(flow, rate, duration, timeout=120)
        s = summarize(r)
        s["rate"] = rate
        if sampler:
            s["peak_rss_kb"] = sampler.peak
            sampler.peak = max(sampler.peak, peak_before)
        why = saturated(s, rate, duration)
        s["saturated"] = why
        steps.append(s)
        log(f"  mean {s['mean_ms']} p95 {s['p95_ms']} ok {s['ok']}/{s['sent']} {why or ''}")
        if why:
            break
        sat_rate = rate
    return {"method": system.method, "step_seconds": duration, "steps": steps, "saturation_rate": sat_rate}


def w2(system, quick: bool, slow: bool) -> dict:
    system.start()
    try:
        smoke(system)
        with RssSampler(system) as sampler:
            out = ladder(system, "benchmark01", quick, slow, sampler)
        out["peak_rss_kb"] = sampler.peak
    finally:
        system.stop()
    return out


def w3(system, quick: bool, slow: bool) -> dict:
    out = {"method": system.method}
    system.start()
    try:
        smoke(system)
        count, warmup = (10, 3) if quick else (20, 5)
        if slow:
            count, warmup = 3, 1
        log(f"{system.name} W3 5xIf: {count} runs one at a time")
        out["if5_latency"] = summarize(system.seq("benchmark02", count, warmup, timeout=300))
        out["if5_rates"] = ladder(system, "benchmark02", quick, slow, None)
    finally:
        system.stop()
    timeout = 60 if quick else 120
    out["foreach_timeout_s"] = timeout
    out["foreach"] = {}
    system.start()
    try:
        previous = None
        for n in flows.FOREACH_SIZES:
            runs = {100: 2, 1000: 1, 10000: 1}[n] if not quick else 1
            if previous is not None and previous * n / (n // 10) > timeout * 1000:
                out["foreach"][str(n)] = {"skipped": f"{n // 10:,} values took {previous / 1000:.1f} s, so "
                                          f"{n:,} would take more than the {timeout} s timeout"}
                break
            log(f"{system.name} W3 ForEach {n}: {runs} run(s), timeout {timeout} s")
            r = system.seq(f"foreach{n}", runs, 0, timeout=timeout, arg=n)
            s = summarize(r)
            out["foreach"][str(n)] = s
            previous = s["min_ms"]
            if s["ok"] == 0:
                s["note"] = f"no run finished within {timeout} s"
                break
    finally:
        system.stop()
    return out


def w4(system, quick: bool, slow: bool) -> dict:
    out = {}
    ready = system.start()
    try:
        out["ready_s"] = ready
        time.sleep(5)
        out["idle_rss_kb"] = system.rss_kb()
        # a first execution after start
        out["first_execution_ms"] = smoke(system)
        rate, duration = 20, 10 if quick else 20
        if slow:
            rate = 2
        with RssSampler(system) as sampler:
            r = system.rate("benchmark01", rate, duration, timeout=120)
        out["load"] = {"rate": rate, "seconds": duration, "peak_rss_kb": sampler.peak, **summarize(r)}
        out["size"] = system.size()
    finally:
        system.stop()
    return out


def w5(system, quick: bool, slow: bool) -> dict:
    rate, count = 50, 150
    if slow:
        rate, count = 5, 15
    timeout = 90 if quick else 180
    system.start()
    out = {"flow": "slow10 (ten 100 ms Sleep tasks)", "rate": rate, "count": count}
    try:
        smoke(system)
        log(f"{system.name} W5: {count} starts at {rate}/s, then kill -9")
        ids = system.start_many_nowait("slow10", rate, count)
        before = system.states(ids)
        out["started"] = len(ids)
        out["finished_before_kill"] = sum(1 for v in before.values() if v in ("ok", "failed"))
        t_kill = time.monotonic()
        system.kill9_server()
        out["restart_ready_s"] = system.start(fresh=False)
        pending = set(ids)
        final = {}
        while pending and time.monotonic() - t_kill < timeout:
            try:
                st = system.states(sorted(pending))
            except Exception as e:  # noqa: BLE001 - a system that just restarted may not answer yet
                log(f"  states: {e}")
                time.sleep(0.2)
                continue
            for i, v in st.items():
                if v in ("ok", "failed"):
                    final[i] = v
                    pending.discard(i)
            if pending and all(st.get(i) is None for i in pending):
                # the system no longer knows them: lost, unless they show up shortly
                if time.monotonic() - t_kill > 10:
                    break
            time.sleep(0.2)
        elapsed = time.monotonic() - t_kill
        try:
            last = system.states(sorted(pending)) if pending else {}
        except Exception as e:  # noqa: BLE001
            last = {}
            out["states_error"] = str(e)
        out["ok"] = sum(1 for v in final.values() if v == "ok")
        out["failed"] = sum(1 for v in final.values() if v == "failed")
        out["lost"] = sum(1 for v in last.values() if v is None)
        out["unfinished"] = sum(1 for v in last.values() if v is not None)
        out["all_finished_s"] = elapsed if not pending else None
        out["gave_up_after_s"] = None if not pending else elapsed
    finally:
        system.stop()
    return out


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5}


# ---------------------------------------------------------------------------------------------
def machine() -> dict:
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem / 2**30, 1),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def make_system(name: str, workdir: Path):
    if name == "peregrine":
        return systems.Peregrine(workdir)
    if name == "kestra":
        return systems.Kestra(workdir)
    if name == "temporal":
        return systems.Temporal(workdir)
    if name == "restate":
        return systems.Restate(workdir)
    if name == "airflow":
        import slowpeers

        return slowpeers.Airflow(workdir)
    if name == "prefect":
        import slowpeers

        return slowpeers.Prefect(workdir)
    raise SystemExit(f"unknown peer {name}; known: {', '.join(ALL_PEERS)}")


def write_reports(results: dict, no_docs: bool) -> None:
    (RESULTS / "report.md").write_text(report.render(results, RESULTS))
    if not no_docs:
        md = report.render(results, RESULTS, img_prefix="../bench/peers/results/")
        report.update_docs(REPO / "docs" / "benchmarks.md", md)


def main() -> int:
    ap = argparse.ArgumentParser(prog="scripts/bench-peers", description=__doc__)
    ap.add_argument("--workloads", default=",".join(ALL_WORKLOADS), help="e.g. W1,W4")
    ap.add_argument("--peers", default=",".join(ALL_PEERS), help="e.g. kestra,temporal (Peregrine always runs)")
    ap.add_argument("--quick", action="store_true", help="fewer samples and shorter steps")
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite the section of docs/benchmarks.md")
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite the report and the docs section from results/results.json, run nothing")
    args = ap.parse_args()

    if args.render_only:
        results = json.loads((RESULTS / "results.json").read_text())
        write_reports(results, args.no_docs)
        return 0

    workloads = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    for w in workloads:
        if w not in WORKLOADS:
            raise SystemExit(f"unknown workload {w}; known: {', '.join(ALL_WORKLOADS)}")
    peers = [p.strip().lower() for p in args.peers.split(",") if p.strip() and p.strip().lower() != "peregrine"]
    names = ["peregrine", *peers]
    workdir = CACHE / "run"
    workdir.mkdir(parents=True, exist_ok=True)

    started = datetime.datetime.now(datetime.timezone.utc)
    results = {
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "command": "scripts/bench-peers " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "workloads": {w: {} for w in workloads},
        "systems": {},
        "unavailable": {},
        "left_out": [p for p in ALL_PEERS if p not in peers],
    }

    for name in names:
        system = make_system(name, workdir)
        info = {"label": system.label}
        results["systems"][name] = info
        try:
            log(f"== {name}: install")
            system.install()
            info["version"] = system.version()
        except InstallError as e:
            log(f"{name} could not be installed: {e}")
            results["unavailable"][name] = f"install: {e}"
            continue
        slow = name in ("airflow", "prefect")
        broken = None
        for w in workloads:
            if broken:
                results["workloads"][w][name] = {"error": f"not run: {broken}"}
                continue
            log(f"== {name} {w}")
            load_before = os.getloadavg()[0]
            try:
                results["workloads"][w][name] = WORKLOADS[w](system, args.quick, slow)
            except Exception as e:  # noqa: BLE001
                msg = str(e) if isinstance(e, InstallError) else f"{type(e).__name__}: {e}"
                log(f"{name} {w} failed: {msg}\n{traceback.format_exc()}")
                logs = system.logs()
                results["workloads"][w][name] = {"error": msg, "log_tail": logs[-2000:]}
                if isinstance(e, InstallError):
                    broken = f"it could not start or run a 1-task execution in {w} (see there)"
                try:
                    system.stop()
                except Exception:  # noqa: BLE001
                    pass
            # what else ran on the machine: the 1-minute load average before and after the workload
            results.setdefault("load", {}).setdefault(name, {})[w] = [round(load_before, 2),
                                                                    round(os.getloadavg()[0], 2)]
            # keep what is measured so far: a long run cut short still leaves its figures
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        info["method"] = system.method
        if system.notes:
            info["notes"] = system.notes

    results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    write_reports(results, args.no_docs)
    log(f"wrote {RESULTS / 'results.json'}, {RESULTS / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
