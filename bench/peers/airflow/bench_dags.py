"""The benchmark workloads as Airflow DAGs: each Kestra task is an Airflow task (TaskFlow API),
run by the LocalExecutor; ForEach is dynamic task mapping."""

import time

import pendulum
from airflow.sdk import dag, task

START = pendulum.datetime(2024, 1, 1, tz="UTC")
COMMON = dict(schedule=None, start_date=START, catchup=False, is_paused_upon_creation=False,
              max_active_runs=10000, tags=["bench"])


@task
def noop(i: int) -> str:
    return f"task {i}"


def seq_dag(n: int):
    @dag(dag_id=f"seq{n}", **COMMON)
    def seq():
        prev = None
        for i in range(1, n + 1):
            t = noop.override(task_id=f"t{i}")(i)
            if prev is not None:
                prev >> t
            prev = t

    return seq()


for _n in (1, 3, 10, 40):
    globals()[f"seq{_n}"] = seq_dag(_n)


@dag(dag_id="benchmark01", **COMMON)
def benchmark01():
    @task
    def concatenate(name: str = "World") -> dict:
        return {"message": f"Hello {name}"}

    @task
    def hello(values: dict) -> None:
        print(values["message"])

    hello(concatenate())


benchmark01()


@dag(dag_id="benchmark02", **COMMON)
def benchmark02():
    prev = None
    for i in range(1, 6):

        @task.branch(task_id=f"if{i}")
        def branch(i=i):
            return f"hello_true_{i}"

        @task(task_id=f"hello_true_{i}")
        def hello_true(i=i):
            print(f"Hello True {i}")

        @task(task_id=f"hello_false_{i}")
        def hello_false(i=i):
            print(f"Hello False {i}")

        b = branch()
        t, f = hello_true(), hello_false()
        b >> [t, f]
        if prev is not None:
            prev >> b
        # the next If runs after whichever branch ran
        prev = t
        t.trigger_rule = "none_failed_min_one_success"
        f.trigger_rule = "none_failed_min_one_success"


benchmark02()


def foreach_dag(n: int):
    @dag(dag_id=f"foreach{n}", **COMMON)
    def foreach():
        @task
        def output(value: int) -> dict:
            return {"some": "value"}

        output.expand(value=list(range(1, n + 1)))

    return foreach()


for _n in (100, 1000, 10000):
    globals()[f"foreach{_n}"] = foreach_dag(_n)


@dag(dag_id="slow10", **COMMON)
def slow10():
    @task
    def sleep100(i: int) -> int:
        time.sleep(0.1)
        return i

    prev = None
    for i in range(1, 11):
        t = sleep100.override(task_id=f"s{i}")(i)
        if prev is not None:
            prev >> t
        prev = t


slow10()
