//! Script tasks run through their RunnableTask with real `sh` processes: the output protocol,
//! failures, logs, environment and files, and the deprecated Bash task.

mod support;

use peregrine_model::state::State;
use peregrine_plugin_api::{LogLevel, TaskError, TaskServices};
use peregrine_ports::storage::StoragePath;
use serde_json::{Value, json};
use support::{run, run_with};

const SHELL_COMMANDS: &str = "io.kestra.plugin.scripts.shell.Commands";

fn shell(commands: &[&str]) -> Value {
    json!({"id": "shell", "type": SHELL_COMMANDS, "commands": commands})
}

#[tokio::test]
async fn output_protocol_lines_become_vars_and_other_lines_logs() {
    let (result, logs) = run(
        shell(&[
            "echo hello",
            r#"echo '::{"outputs":{"count":1,"name":"first"}}::'"#,
            r#"echo '::{"outputs":{"name":"second"},"logs":[{"level":"WARN","message":"careful"}]}::'"#,
            r#"echo '::{not json}::'"#,
        ]),
        json!({}),
    )
    .await;
    let output = result.expect("the commands succeed");
    assert_eq!(output.state, None);
    assert_eq!(
        Value::Object(output.outputs),
        json!({"vars": {"count": 1, "name": "second"}, "exitCode": 0, "outputFiles": {}})
    );
    assert!(logs.has(LogLevel::Info, "hello"));
    assert!(logs.has(LogLevel::Warn, "careful"));
    assert!(logs.has(LogLevel::Warn, "Invalid outputs"));
    assert!(
        !logs
            .lines()
            .iter()
            .any(|(level, line)| *level != LogLevel::Debug && line.contains("::{")),
        "protocol lines are not logged as they are: {:?}",
        logs.lines()
    );
}

#[tokio::test]
async fn a_non_zero_exit_fails_with_kestras_message_and_fail_fast_stops_early() {
    let (result, _) = run(shell(&["exit 3"]), json!({})).await;
    assert_eq!(
        result,
        Err(TaskError::Failed("Command failed with exit code 3".into()))
    );

    let (result, logs) = run(shell(&["false", "echo after"]), json!({})).await;
    assert_eq!(
        result,
        Err(TaskError::Failed("Command failed with exit code 1".into()))
    );
    assert!(!logs.has(LogLevel::Info, "after"));

    let mut task = shell(&["false", "echo after"]);
    task["failFast"] = json!(false);
    let (result, logs) = run(task, json!({})).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(logs.has(LogLevel::Info, "after"));
}

#[tokio::test]
async fn stderr_lines_are_error_logs_and_warn_only_when_asked() {
    let (result, logs) = run(shell(&["echo oops >&2", "echo fine"]), json!({})).await;
    let output = result.expect("stderr alone does not fail");
    assert_eq!(output.state, None);
    assert!(logs.has(LogLevel::Error, "oops"));
    assert!(logs.has(LogLevel::Info, "fine"));

    let mut task = shell(&["echo oops >&2"]);
    task["warningOnStdErr"] = json!(true);
    let (result, _) = run(task, json!({})).await;
    assert_eq!(result.expect("success").state, Some(State::Warning));
}

#[tokio::test]
async fn env_input_files_working_dir_and_output_files() {
    let task = json!({
        "id": "shell",
        "type": SHELL_COMMANDS,
        "env": {"GREETING": "hello {{ name }}"},
        "inputFiles": {
            "data/in.txt": "content for {{ name }}\n",
            "empty.txt": null,
        },
        "beforeCommands": ["echo before"],
        "outputFiles": ["*.csv", "sub/**"],
        "commands": [
            r#"echo "$GREETING""#,
            "cat data/in.txt",
            r#"test "$WORKING_DIR" = "$(pwd)" && test "{{ workingDir }}" = "$WORKING_DIR""#,
            r#"test -d "$OUTPUT_DIR" && test "{{outputDir}}" = "$OUTPUT_DIR""#,
            "test ! -e empty.txt",
            "echo a,b > out.csv && echo no > out.txt && mkdir -p sub/deep && echo x > sub/deep/x.log",
            r#"echo report > "$OUTPUT_DIR/report.txt""#,
            r#"echo "::{\"outputs\":{\"workingDir\":\"$WORKING_DIR\"}}::""#,
        ],
    });
    let (result, logs) = run(task, json!({"name": "kestra"})).await;
    let output = result.expect("the commands succeed");
    assert!(
        logs.has(LogLevel::Info, "hello kestra"),
        "{:?}",
        logs.lines()
    );
    assert!(logs.has(LogLevel::Info, "content for kestra"));
    assert!(logs.has(LogLevel::Info, "before"));

    let files = output.outputs["outputFiles"]
        .as_object()
        .expect("outputFiles is a mapping");
    let mut names: Vec<&str> = files.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["out.csv", "report.txt", "sub/deep/x.log"]);

    let working_dir = output.outputs["vars"]["workingDir"]
        .as_str()
        .expect("the working dir was printed");
    assert!(
        !std::path::Path::new(working_dir).exists(),
        "the working directory is removed after the attempt"
    );
}

#[tokio::test]
async fn input_files_as_a_json_string_and_path_escapes_are_refused() {
    let task = json!({
        "id": "shell",
        "type": SHELL_COMMANDS,
        "inputFiles": r#"{"a.txt": "from json"}"#,
        "commands": ["cat a.txt"],
    });
    let (result, logs) = run(task, json!({})).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(logs.has(LogLevel::Info, "from json"), "{:?}", logs.lines());

    let task = json!({
        "id": "shell",
        "type": SHELL_COMMANDS,
        "inputFiles": {"../escape.txt": "no"},
        "commands": ["true"],
    });
    let (result, _) = run(task, json!({})).await;
    assert!(
        matches!(&result, Err(TaskError::Property { property, .. }) if property == "inputFiles"),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_docker_task_runner_runs_as_a_process_with_a_warning() {
    let task = json!({
        "id": "shell",
        "type": SHELL_COMMANDS,
        "taskRunner": {"type": "io.kestra.plugin.scripts.runner.docker.Docker"},
        "containerImage": "ubuntu:24.04",
        "commands": ["echo ran"],
    });
    let (result, logs) = run(task, json!({})).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(logs.has(LogLevel::Warn, "container image is ignored"));
    assert!(logs.has(LogLevel::Info, "ran"));

    let task = json!({
        "id": "shell",
        "type": SHELL_COMMANDS,
        "taskRunner": {"type": "io.kestra.plugin.core.runner.Process"},
        "commands": ["echo ran"],
    });
    let (_, logs) = run(task, json!({})).await;
    assert!(
        !logs
            .lines()
            .iter()
            .any(|(level, _)| *level == LogLevel::Warn)
    );
}

#[tokio::test]
async fn shell_script_runs_inline_with_a_custom_interpreter() {
    let task = json!({
        "id": "script",
        "type": "io.kestra.plugin.scripts.shell.Script",
        "interpreter": ["/bin/bash", "-c"],
        "script": "name={{ name }}\nif [[ -n \"$BASH_VERSION\" ]]; then echo \"bash says $name\"; fi\n",
    });
    let (result, logs) = run(task, json!({"name": "kestra"})).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(
        logs.has(LogLevel::Info, "bash says kestra"),
        "{:?}",
        logs.lines()
    );
}

#[tokio::test]
async fn python_script_runs_from_a_file_when_python_is_installed() {
    let has_python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_python {
        eprintln!("skipped: python3 is not on the PATH");
        return;
    }
    let task = json!({
        "id": "python",
        "type": "io.kestra.plugin.scripts.python.Script",
        "script": "import json, os, sys\nflag = {{ flag }}\nprint('hello from python')\nprint('warn', file=sys.stderr)\nprint('::' + json.dumps({'outputs': {'sum': 1 + 2, 'flag': flag, 'unbuffered': os.environ['PYTHONUNBUFFERED']}}) + '::')\n",
    });
    let (result, logs) = run(task, json!({"flag": true})).await;
    let output = result.expect("the script succeeds");
    assert_eq!(
        output.outputs["vars"],
        json!({"sum": 3, "flag": true, "unbuffered": "true"})
    );
    assert!(logs.has(LogLevel::Info, "hello from python"));
    assert!(logs.has(LogLevel::Error, "warn"));
}

#[tokio::test]
async fn legacy_bash_declares_output_files_by_key() {
    let task = json!({
        "id": "bash",
        "type": "io.kestra.core.tasks.scripts.Bash",
        "outputFiles": ["result"],
        "outputDirs": ["reports"],
        "inputFiles": {"in.txt": "input"},
        "commands": [
            "cat in.txt > {{ outputFiles.result }}",
            "echo one > {{ outputDirs.reports }}/one.txt",
            "echo done",
            "echo warn >&2",
        ],
    });
    let (result, logs) = run(task, json!({})).await;
    let output = result.expect("the bash task succeeds");
    assert_eq!(output.state, None);
    assert!(logs.has(LogLevel::Info, "Running script with working directory"));
    assert_eq!(output.outputs["exitCode"], json!(0));
    assert_eq!(output.outputs["stdOutLineCount"], json!(1));
    assert_eq!(output.outputs["stdErrLineCount"], json!(1));
    let files = output.outputs["outputFiles"]
        .as_object()
        .expect("outputFiles");
    let mut names: Vec<&str> = files.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["reports/one.txt", "result"]);
    assert_eq!(output.outputs["files"], output.outputs["outputFiles"]);

    let task = json!({
        "id": "bash",
        "type": "io.kestra.core.tasks.scripts.Bash",
        "commands": ["exit 2"],
    });
    let (result, _) = run(task, json!({})).await;
    assert_eq!(
        result,
        Err(TaskError::Failed("Command failed with exit code 2".into()))
    );
}

/// Reads a `kestra:///` file of the given services.
async fn stored(services: &TaskServices, uri: &Value) -> String {
    let uri = uri.as_str().expect("a URI");
    assert!(uri.starts_with("kestra:///"), "{uri}");
    let path = StoragePath::from_uri(uri).expect("a storage path");
    let bytes = services.storage.get(&path).await.expect("a stored file");
    String::from_utf8(bytes).expect("text")
}

#[tokio::test]
async fn output_files_are_uploaded_and_storage_uris_downloaded() {
    let services = TaskServices::in_memory();
    let producer = json!({
        "id": "produce",
        "type": SHELL_COMMANDS,
        "outputFiles": ["*.csv"],
        "commands": [
            "printf 'a,b\\n1,2\\n' > data.csv",
            r#"echo report > "$OUTPUT_DIR/report.txt""#,
        ],
    });
    let (result, _) = run_with(producer, json!({}), services.clone()).await;
    let outputs = result.expect("the producer succeeds").outputs;
    let data = &outputs["outputFiles"]["data.csv"];
    assert!(
        data.as_str().is_some_and(|uri| uri.ends_with("-data.csv")),
        "{data}"
    );
    assert_eq!(stored(&services, data).await, "a,b\n1,2\n");
    assert_eq!(
        stored(&services, &outputs["outputFiles"]["report.txt"]).await,
        "report\n"
    );

    // A later task reads it as an input file and through a URI in its commands.
    let consumer = json!({
        "id": "consume",
        "type": SHELL_COMMANDS,
        "inputFiles": {"in.csv": "{{ data }}"},
        "commands": ["wc -l < in.csv", "tail -n 1 {{ data }}"],
    });
    let (result, logs) = run_with(consumer, json!({"data": data}), services).await;
    assert!(result.is_ok(), "{result:?}");
    assert!(
        logs.lines().contains(&(LogLevel::Info, "2".to_string())),
        "{:?}",
        logs.lines()
    );
    assert!(logs.has(LogLevel::Info, "1,2"), "{:?}", logs.lines());
}

#[tokio::test]
async fn legacy_bash_uploads_declared_files() {
    let services = TaskServices::in_memory();
    let task = json!({
        "id": "bash",
        "type": "io.kestra.core.tasks.scripts.Bash",
        "outputFiles": ["result"],
        "commands": ["echo legacy > {{ outputFiles.result }}"],
    });
    let (result, _) = run_with(task, json!({}), services.clone()).await;
    let outputs = result.expect("the bash task succeeds").outputs;
    assert_eq!(
        stored(&services, &outputs["outputFiles"]["result"]).await,
        "legacy\n"
    );
}
