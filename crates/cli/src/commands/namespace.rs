//! `peregrine flow namespace update NAMESPACE DIR --server URL`: deploys a folder of flows to a
//! running server, as Kestra's command does: every flow of the folder is created or updated in
//! one request (all or nothing), and the namespace's other flows are deleted unless
//! `--no-delete`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

pub fn update(
    namespace: &str,
    folder: &Path,
    server: &str,
    delete: bool,
) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    super::flow::collect_files(folder, &mut files)?;
    let mut body = String::new();
    for file in &files {
        let source = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        if !body.is_empty() {
            body.push_str("\n---\n");
        }
        body.push_str(source.trim_end());
        body.push('\n');
    }
    let url = format!(
        "{}/api/v1/flows/{namespace}?delete={delete}",
        server.trim_end_matches('/')
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    let response = agent
        .post(&url)
        .header("Content-Type", "application/x-yaml")
        .send(&body)
        .with_context(|| format!("cannot reach {server}"))?;
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap_or_default();
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if status == 200 {
        let flows = answer.as_array().map_or(0, Vec::len);
        let deleted = answer.as_array().map_or(0, |flows| {
            flows.iter().filter(|flow| flow["deleted"] == true).count()
        });
        println!(
            "{} flow(s) for namespace '{namespace}' successfully updated ({deleted} deleted)",
            flows - deleted
        );
        return Ok(ExitCode::SUCCESS);
    }
    let problems = answer["errors"].as_array().cloned().unwrap_or_default();
    if problems.is_empty() {
        eprintln!(
            "{url}: {status} {}",
            answer["message"].as_str().unwrap_or(&answer.to_string())
        );
    }
    for problem in problems {
        eprintln!("{}", problem.as_str().unwrap_or(&problem.to_string()));
    }
    Ok(ExitCode::FAILURE)
}
