//! A flow using the HTTP tasks against a local server, a TemplatedTask and execution.Count, run
//! end to end in process (worker on a multi-thread runtime, as `peregrine flow test`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use peregrine_model::Validator;
use peregrine_model::state::State;
use serde_json::{Map, Value, json};

/// Answers `/orders.csv` with a CSV file and echoes the body of any other request, one request
/// per connection.
fn start_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    base
}

fn answer(mut stream: TcpStream) {
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = if request_line.contains(" /orders.csv ") {
        b"id,total\n1,10\n".to_vec()
    } else {
        body
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        reply.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply);
}

fn flow(base: &str) -> String {
    format!(
        r#"
id: core_tasks
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: {base}/orders.csv
  - id: post
    type: io.kestra.plugin.core.http.Request
    uri: {base}/echo
    method: POST
    contentType: text/csv
    body: "{{{{ read(outputs.download.uri) }}}}"
  - id: templated
    type: io.kestra.plugin.core.templating.TemplatedTask
    spec: |
      type: io.kestra.plugin.core.debug.Return
      format: "{{{{ outputs.post.code }}}} {{{{ outputs.download.length }}}}"
  - id: count
    type: io.kestra.plugin.core.execution.Count
    flows:
      - namespace: company.team
        flowId: never_run
    startDate: "2000-01-01T00:00:00Z"
    expression: "{{{{ count == 0 }}}}"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_templated_and_count_tasks_run_in_a_flow() {
    let base = start_server();
    let registry = Arc::new(peregrine_node::catalogue());
    let report = Validator::new(&registry)
        .with_expressions(&peregrine_node::PebbleSyntax)
        .validate_one(&flow(&base));
    let flow = report.flow.expect("the flow is valid");
    let run = peregrine_node::local::run_flow(
        registry.clone(),
        flow,
        Vec::new(),
        &Map::new(),
        Duration::from_secs(20),
    )
    .await
    .expect("the execution ends");
    let output = |task_id: &str, name: &str| -> Value {
        run.execution
            .task_run_list
            .iter()
            .find(|task_run| task_run.task_id == task_id)
            .and_then(|task_run| task_run.outputs.as_ref())
            .and_then(|outputs| outputs.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        run.execution.state.current,
        State::Success,
        "{:#?}",
        run.logs
    );
    assert_eq!(output("download", "length"), json!(14));
    assert_eq!(output("post", "body"), json!("id,total\n1,10\n"));
    assert_eq!(output("templated", "value"), json!("200 14"));
    assert_eq!(
        output("count", "results"),
        json!([{"namespace": "company.team", "flowId": "never_run", "count": 0}])
    );
}
