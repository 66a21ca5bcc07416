//! The triggers API in a running server over SQLite: a per-second schedule disabled through
//! `PUT /api/v1/triggers` stops firing, and enabled again through `set-disabled` wakes the
//! scheduler at once, which computes its next slot and fires again.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use peregrine_ports::repository::FlowRepository;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const TICKING: &str = r#"
id: ticking
namespace: company.team
tasks:
  - id: noop
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: tick
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "*/1 * * * * *"
    withSeconds: true
"#;

/// One HTTP/1.1 request; the status and the JSON answer.
async fn call(address: SocketAddr, method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = body.to_string();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connected");
        stream.write_all(request.as_bytes()).expect("sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("an answer");
        answer
    })
    .await
    .expect("the request ran");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Waits up to five seconds for `done`.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, done: impl Fn() -> F) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn disabled_through_the_api_a_schedule_stops_and_enabled_again_it_fires_at_once() {
    let folder = tempfile::tempdir().expect("a folder");
    let backends = common::sqlite_backends(folder.path());
    let runtime = common::runtime();
    runtime.block_on(async {
        let services = common::services(&backends).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        let stop = CancellationToken::new();
        tokio::spawn(services.webserver().run(listener, stop.clone()));
        services
            .flows
            .save(
                "company.team",
                "ticking",
                TICKING.to_string(),
                Timestamp::now(),
            )
            .await
            .expect("saved");
        let count = || common::executions_of(&services, "company.team", "ticking");
        let state = || async {
            let (status, page) = call(
                address,
                "GET",
                "/api/v1/triggers/company.team/ticking",
                Value::Null,
            )
            .await;
            assert_eq!(status, 200, "{page}");
            page["results"][0].clone()
        };
        eventually("a first firing", || async { count().await >= 1 }).await;

        let (status, stored) = call(
            address,
            "PUT",
            "/api/v1/triggers",
            json!({"namespace": "company.team", "flowId": "ticking", "triggerId": "tick",
                   "disabled": true}),
        )
        .await;
        assert_eq!(status, 200, "{stored}");
        assert_eq!(stored["disabled"], true);
        // A slot claimed just before may still start its execution.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let paused = count().await;
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        assert_eq!(count().await, paused, "no slot fires while disabled");
        let disabled = state().await;
        assert_eq!(disabled["disabled"], true);
        assert!(disabled.get("nextExecutionDate").is_none(), "{disabled}");

        let (status, answer) = call(
            address,
            "POST",
            "/api/v1/triggers/set-disabled/by-triggers",
            json!({"triggers": [{"namespace": "company.team", "flowId": "ticking",
                                 "triggerId": "tick"}],
                   "disabled": false}),
        )
        .await;
        assert_eq!((status, answer), (200, json!({"count": 1})));
        // Nothing else wakes the scheduler of a disabled trigger: the change through the API did.
        eventually("the next slot computed again", || async {
            state().await["nextExecutionDate"].is_string()
        })
        .await;
        eventually("fires again once enabled", || async {
            count().await > paused
        })
        .await;
        stop.cancel();
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
}
