"""The benchmark workloads as Prefect flows and tasks, run in this process against a local Prefect
server (PREFECT_API_URL): each Kestra task is a Prefect task, each flow a Prefect flow whose states
the server records. Reads a spec like bench/peers/loadgen's on stdin and prints the same result
JSON."""

import asyncio
import json
import sys
import time

from prefect import flow, get_run_logger, task


@task
async def noop(i: int) -> str:
    return f"task {i}"


@task
async def concatenate(name: str) -> dict:
    return {"message": f"Hello {name}"}


@task
async def hello(message: str) -> None:
    get_run_logger().info(message)


@task
async def output(value: int) -> dict:
    return {"some": "value"}


@flow
async def seq(n: int) -> str:
    last = ""
    for i in range(n):
        last = await noop(i)
    return last


@flow
async def benchmark01(name: str = "World") -> dict:
    out = await concatenate(name)
    await hello(out["message"])
    return out


@flow
async def benchmark02(condition: bool = True) -> str:
    for i in range(1, 6):
        await hello(f"Hello {'True' if condition else 'False'} {i}")
    return "ok"


@flow
async def foreach(n: int) -> int:
    futures = output.map(list(range(1, n + 1)))
    futures.wait()
    return n


def runner(name: str):
    if name.startswith("seq"):
        return lambda: seq(int(name[3:]))
    if name == "benchmark01":
        return lambda: benchmark01()
    if name == "benchmark02":
        return lambda: benchmark02()
    if name.startswith("foreach"):
        return lambda: foreach(int(name[7:]))
    raise SystemExit(f"unknown flow {name}")


async def main(spec: dict) -> dict:
    make = runner(spec["flow"])
    timeout = spec.get("timeout_s", 120)
    res = {"mode": spec["mode"], "sent": 0, "ok": 0, "failed": 0, "errors": 0, "dropped": 0,
           "error_samples": [], "latencies_ms": [], "start_s": [], "end_s": []}
    t0 = time.perf_counter()

    async def one():
        s = time.perf_counter()
        try:
            await asyncio.wait_for(make(), timeout)
            e = time.perf_counter()
            res["ok"] += 1
            res["latencies_ms"].append((e - s) * 1000)
            if spec["mode"] == "rate":
                res["start_s"].append(s - t0)
                res["end_s"].append(e - t0)
        except Exception as ex:  # noqa: BLE001
            res["errors"] += 1
            if len(res["error_samples"]) < 5:
                res["error_samples"].append(f"{type(ex).__name__}: {ex}"[:200])

    if spec["mode"] == "seq":
        for _ in range(spec.get("warmup", 0)):
            try:
                await make()
            except Exception:  # noqa: BLE001
                pass
        t0 = time.perf_counter()
        for _ in range(spec["count"]):
            res["sent"] += 1
            await one()
    else:
        rate, n = spec["rate"], int(spec["rate"] * spec["duration_s"])
        tasks = []
        for i in range(n):
            d = t0 + i / rate - time.perf_counter()
            if d > 0:
                await asyncio.sleep(d)
            res["sent"] += 1
            tasks.append(asyncio.create_task(one()))
        res["offered_rate"] = res["sent"] / (time.perf_counter() - t0)
        await asyncio.gather(*tasks)
    res["wall_s"] = time.perf_counter() - t0
    res["latencies_ms"].sort()
    return res


if __name__ == "__main__":
    spec = json.load(sys.stdin)
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # whatever the flows print stays out of the result
    result = asyncio.run(main(spec))
    real_stdout.write(json.dumps(result) + "\n")
