//! `namespaceFiles` on script tasks: which namespace files land in the working directory, where,
//! and what happens to a file already there.

mod support;

use peregrine_plugin_api::{LogLevel, TaskServices};
use peregrine_ports::storage::namespace_files_prefix;
use serde_json::{Value, json};

async fn seed(services: &TaskServices, namespace: &str, files: &[(&str, &str)]) {
    let prefix = namespace_files_prefix(namespace).expect("a namespace");
    for (path, content) in files {
        let path = prefix.join(path).expect("a path");
        services
            .storage
            .put(&path, content.as_bytes().to_vec())
            .await
            .expect("stored");
    }
}

/// A shell task listing every file of its working directory (sorted, `name=content`).
fn listing(namespace_files: Value) -> Value {
    json!({
        "id": "list",
        "type": "io.kestra.plugin.scripts.shell.Commands",
        "namespaceFiles": namespace_files,
        "commands": [
            "find . -type f | sort | while read f; do echo \"$f=$(cat \"$f\")\"; done"
        ],
    })
}

/// The `./path=content` lines the listing printed.
fn printed(logs: &support::Logs) -> Vec<String> {
    logs.lines()
        .into_iter()
        .filter(|(level, line)| *level == LogLevel::Info && line.starts_with("./"))
        .map(|(_, line)| line)
        .collect()
}

async fn services() -> TaskServices {
    let services = TaskServices::in_memory();
    seed(
        &services,
        "company.team",
        &[
            ("a.txt", "alpha"),
            ("sql/q.sql", "select 1"),
            ("ignore/x.txt", "hidden"),
        ],
    )
    .await;
    seed(
        &services,
        "other",
        &[("a.txt", "other alpha"), ("b.txt", "beta")],
    )
    .await;
    services
}

#[tokio::test]
async fn the_flows_namespace_files_selected_by_include_and_exclude_are_copied() {
    let cases = [
        (
            json!({"enabled": true}),
            vec![
                "./a.txt=alpha",
                "./ignore/x.txt=hidden",
                "./sql/q.sql=select 1",
            ],
        ),
        (json!({"include": ["a.txt"]}), vec!["./a.txt=alpha"]),
        (
            json!({"exclude": ["/ignore/**"]}),
            vec!["./a.txt=alpha", "./sql/q.sql=select 1"],
        ),
        (
            json!({"include": ["**.txt"], "exclude": ["/ignore/**"]}),
            vec!["./a.txt=alpha"],
        ),
        (json!({"enabled": false}), vec![]),
    ];
    for (namespace_files, expected) in cases {
        let (result, logs) = support::run_with(
            listing(namespace_files.clone()),
            json!({}),
            services().await,
        )
        .await;
        result.expect("the task succeeds");
        assert_eq!(printed(&logs), expected, "{namespace_files}");
    }
}

#[tokio::test]
async fn other_namespaces_last_wins_or_each_in_its_folder() {
    let (result, logs) = support::run_with(
        listing(json!({"namespaces": ["company.team", "other"], "include": ["a.txt", "b.txt"]})),
        json!({}),
        services().await,
    )
    .await;
    result.expect("the task succeeds");
    assert_eq!(printed(&logs), ["./a.txt=other alpha", "./b.txt=beta"]);
    assert!(
        logs.has(
            LogLevel::Info,
            "Loaded 2 namespace files from 'company.team, other' in "
        ),
        "{:?}",
        logs.lines()
    );

    let (result, logs) = support::run_with(
        listing(json!({
            "namespaces": ["company.team", "other"],
            "include": ["a.txt"],
            "folderPerNamespace": true,
        })),
        json!({}),
        services().await,
    )
    .await;
    result.expect("the task succeeds");
    assert_eq!(
        printed(&logs),
        ["./company.team/a.txt=alpha", "./other/a.txt=other alpha"]
    );
}

#[tokio::test]
async fn a_file_already_in_a_shared_working_directory_follows_if_exists() {
    let cases = [
        ("OVERWRITE", Some("alpha")),
        ("IGNORE", Some("kept")),
        ("WARN", Some("kept")),
        ("FAIL", None),
    ];
    for (if_exists, expected) in cases {
        let folder = std::env::temp_dir().join(format!(
            "namespace-files-{}-{if_exists}",
            std::process::id()
        ));
        std::fs::create_dir_all(&folder).expect("a folder");
        std::fs::write(folder.join("a.txt"), "kept").expect("a file");
        let task = json!({
            "id": "cat",
            "type": "io.kestra.plugin.scripts.shell.Commands",
            "namespaceFiles": {"include": ["a.txt"], "ifExists": if_exists},
            "commands": ["cat a.txt"],
        });
        let (context, logs) = support::context_with(task, json!({}), services().await);
        let context = context.with_working_dir(folder.clone());
        let result = support::build(&context).run(&context).await;
        let content = std::fs::read_to_string(folder.join("a.txt")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&folder);
        match expected {
            Some(text) => {
                result.expect("the task succeeds");
                assert_eq!(content, text, "{if_exists}");
            }
            None => {
                let error = result.expect_err("the task fails");
                assert!(error.to_string().contains("already exists"), "{error}");
            }
        }
        assert_eq!(
            logs.has(LogLevel::Warn, "already exists in the working directory"),
            if_exists == "WARN",
            "{if_exists}: {:?}",
            logs.lines()
        );
    }
}
