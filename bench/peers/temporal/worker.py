"""The benchmark workloads as Temporal workflows, in Temporal's idiom: each Kestra task is an
activity run by this worker, each flow a workflow that calls them. Workflows run outside the
Python SDK's sandbox (`sandboxed=False`), which re-imports modules for every workflow run and
would make the worker, not the server, the bottleneck.

Run: python worker.py HOST:PORT
"""

import asyncio
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

TASK_QUEUE = "bench"
TIMEOUT = timedelta(seconds=60)


@activity.defn
async def noop(i: int) -> str:
    return f"task {i}"


@activity.defn
async def output_values(name: str) -> dict:
    return {"message": f"Hello {name}"}


@activity.defn
async def log(message: str) -> None:
    activity.logger.info(message)


@activity.defn
async def sleep100(i: int) -> int:
    await asyncio.sleep(0.1)
    return i


@workflow.defn(sandboxed=False)
class Seq:
    """N sequential trivial tasks (W1)."""

    @workflow.run
    async def run(self, n: int) -> str:
        last = ""
        for i in range(n):
            last = await workflow.execute_activity(noop, i, start_to_close_timeout=TIMEOUT)
        return last


@workflow.defn(sandboxed=False)
class Benchmark01:
    """Kestra's benchmark 1: OutputValues, then Log of that output (W2)."""

    @workflow.run
    async def run(self, name: str) -> dict:
        out = await workflow.execute_activity(output_values, name, start_to_close_timeout=TIMEOUT)
        await workflow.execute_activity(log, out["message"], start_to_close_timeout=TIMEOUT)
        return out


@workflow.defn(sandboxed=False)
class If5:
    """Kestra's benchmark 2: five If, each running one Log (the If is workflow code)."""

    @workflow.run
    async def run(self, condition: bool) -> str:
        for i in range(1, 6):
            message = f"Hello {'True' if condition else 'False'} {i}"
            await workflow.execute_activity(log, message, start_to_close_timeout=TIMEOUT)
        return "ok"


@workflow.defn(sandboxed=False)
class ForEach:
    """Kestra's benchmark 3: a ForEach over n values, all at once, one OutputValues each."""

    @workflow.run
    async def run(self, n: int) -> int:
        await asyncio.gather(
            *(workflow.execute_activity(output_values, str(i), start_to_close_timeout=TIMEOUT) for i in range(n))
        )
        return n


@workflow.defn(sandboxed=False)
class Slow10:
    """W5: ten steps of 100 ms each, so executions are in flight when the server is killed."""

    @workflow.run
    async def run(self) -> str:
        for i in range(10):
            await workflow.execute_activity(sleep100, i, start_to_close_timeout=TIMEOUT)
        return "ok"


async def main(address: str) -> None:
    while True:
        try:
            client = await Client.connect(address)
            break
        except Exception:  # the server is still starting
            await asyncio.sleep(0.2)
    worker = Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[Seq, Benchmark01, If5, ForEach, Slow10],
        activities=[noop, output_values, log, sleep100],
        max_concurrent_activities=200,
    )
    print("worker ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
