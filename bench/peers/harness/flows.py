"""The workloads as Kestra flows: the same YAML files are loaded by Peregrine and by Kestra."""

from pathlib import Path

NAMESPACE = "bench"
SEQ_SIZES = (1, 3, 10, 40)
FOREACH_SIZES = (100, 1000, 10000)

# Two webhook triggers per flow: `wait` answers once the execution has ended (what the driver
# measures), `nowait` answers as soon as it is created (Kestra's own benchmark calls, used by W5).
TRIGGERS = """
triggers:
  - id: wait
    type: io.kestra.plugin.core.trigger.Webhook
    key: wait
    wait: true
  - id: nowait
    type: io.kestra.plugin.core.trigger.Webhook
    key: nowait
"""


def seq(n: int) -> str:
    tasks = "".join(
        f"""  - id: t{i}
    type: io.kestra.plugin.core.debug.Return
    format: "task {i}"
"""
        for i in range(1, n + 1)
    )
    return f"id: seq{n}\nnamespace: {NAMESPACE}\n\ntasks:\n{tasks}{TRIGGERS}"


# Kestra's benchmark 1 (kestra-io/benchmarks, "Simple flow with a webhook")
BENCHMARK01 = f"""id: benchmark01
namespace: {NAMESPACE}

inputs:
  - id: name
    type: STRING
    defaults: World

tasks:
  - id: concatenate
    type: io.kestra.plugin.core.output.OutputValues
    values:
      message: Hello {{{{ inputs.name }}}}
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ outputs.concatenate.values.message }}}}"
{TRIGGERS}"""


# Kestra's benchmark 2 ("Complex flow"): five If, 10 task runs
def _if(i: int) -> str:
    return f"""  - id: if{i}
    type: io.kestra.plugin.core.flow.If
    condition: "{{{{ inputs.condition }}}}"
    then:
      - id: hello-true-{i}
        type: io.kestra.plugin.core.log.Log
        message: Hello True {i}
    else:
      - id: hello-false-{i}
        type: io.kestra.plugin.core.log.Log
        message: Hello False {i}
"""


BENCHMARK02 = (
    f"""id: benchmark02
namespace: {NAMESPACE}

inputs:
  - id: condition
    type: BOOLEAN
    defaults: true

tasks:
"""
    + "".join(_if(i) for i in range(1, 6))
    + TRIGGERS
)


# Kestra's benchmark 3 ("Big ForEach Loop"), over n values
def foreach(n: int) -> str:
    return f"""id: foreach{n}
namespace: {NAMESPACE}

tasks:
  - id: foreach
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{{{ range(1, {n}) }}}}"
    concurrencyLimit: 0
    tasks:
      - id: output
        type: io.kestra.plugin.core.output.OutputValues
        values:
          some: value
{TRIGGERS}"""


# W5: ten 100 ms sleeps, so executions are in flight when the server is killed
SLOW10 = (
    f"""id: slow10
namespace: {NAMESPACE}

tasks:
"""
    + "".join(
        f"""  - id: s{i}
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.1S
"""
        for i in range(1, 11)
    )
    + TRIGGERS
)


def write_all(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"seq{n}.yml": seq(n) for n in SEQ_SIZES}
    files.update({f"foreach{n}.yml": foreach(n) for n in FOREACH_SIZES})
    files["benchmark01.yml"] = BENCHMARK01
    files["benchmark02.yml"] = BENCHMARK02
    files["slow10.yml"] = SLOW10
    for name, text in files.items():
        (folder / name).write_text(text)
