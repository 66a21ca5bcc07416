//! The roles topologies (`roles-postgres`, `roles-mysql`): beside the runner's executor, which
//! holds the executor's lease, and three worker processes, a standby executor, a scheduler and a
//! webserver run as processes of their own (this binary with `--serve-role`), all on the flow's
//! database. The runner saves its flows, starts executions and kills, restarts and resumes them
//! through that webserver's API; the executor applies what the API wrote to the database.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use peregrine_model::flow::Label;
use peregrine_node::backends::Backends;
use peregrine_node::config::Liveness;
use peregrine_node::server::{LocalServices, Roles};
use serde_json::{Map, Value};

use crate::split::{say_ready, until_input_ends};

/// The roles started beside the workers, in this order (the webserver last).
pub const ROLES: [&str; 3] = ["executor", "scheduler", "webserver"];

/// Serves `role` (executor, scheduler, webserver) on `backends` until the input ends.
pub async fn serve(backends: &Backends, role: &str) -> anyhow::Result<ExitCode> {
    let registry = Arc::new(crate::test_tasks::registry());
    let shutdown = until_input_ends();
    match role {
        "webserver" => {
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let ready = |address: SocketAddr| {
                let _ = say_ready(role, &format!("http://{address}"));
            };
            peregrine_node::webserver_role::serve(backends, registry, address, shutdown, ready)
                .await?;
        }
        "scheduler" => {
            let _scheduler =
                peregrine_node::scheduling::start_alone(backends, registry, shutdown.clone());
            say_ready(role, "")?;
            shutdown.cancelled().await;
        }
        "executor" => {
            let Some(lease) = backends.lease.clone() else {
                anyhow::bail!("the database has no executor lease");
            };
            let owner = peregrine_node::worker_role::worker_id();
            // The runner's executor holds the lease: this one stands by, ready once it waits.
            let waiting = || {
                let _ = say_ready(role, "standby");
            };
            let liveness = Liveness::default();
            let taken =
                peregrine_node::executor_lease::take(&lease, &owner, &liveness, &shutdown, waiting)
                    .await;
            if taken.is_some() {
                eprintln!("compat executor {owner}: took the executor lease over");
                let standby = Roles {
                    scheduler: false,
                    webserver: false,
                };
                let (services, _) = LocalServices::open_roles(registry, backends, standby).await?;
                shutdown.cancelled().await;
                drop(services);
            }
        }
        other => anyhow::bail!(
            "--serve-role must be worker, executor, scheduler or webserver, not {other}"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The webserver of a roles topology, driven as a user would.
#[derive(Clone)]
pub struct Api {
    base: String,
    agent: ureq::Agent,
}

impl Api {
    pub fn new(base: String) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .new_agent();
        Self { base, agent }
    }

    /// Runs a blocking request off the async threads; answers the status and the body.
    async fn call(
        &self,
        request: impl FnOnce(
            &ureq::Agent,
            &str,
        ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>
        + Send
        + 'static,
    ) -> Result<(u16, String), String> {
        let (agent, base) = (self.agent.clone(), self.base.clone());
        tokio::task::spawn_blocking(move || {
            let response = request(&agent, &base).map_err(|error| error.to_string())?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .read_to_string()
                .map_err(|error| error.to_string())?;
            Ok((status, body))
        })
        .await
        .map_err(|error| error.to_string())?
    }

    /// Saves a flow through the API, as a new flow.
    pub async fn save_flow(&self, source: String) -> Result<(), String> {
        let (status, body) = self
            .call(move |agent, base| {
                agent
                    .post(format!("{base}/api/v1/flows"))
                    .header("Content-Type", "application/x-yaml")
                    .send(&source)
            })
            .await?;
        expect_success(status, &body, "saving the flow")
    }

    /// Starts an execution with `inputs` sent as a form; answers its id.
    pub async fn start(
        &self,
        namespace: &str,
        flow_id: &str,
        inputs: &Map<String, Value>,
        labels: &[Label],
    ) -> Result<String, String> {
        let mut query: Vec<String> = labels
            .iter()
            .map(|label| format!("labels={}:{}", encode(&label.key), encode(&label.value)))
            .collect();
        query.push("wait=false".into());
        let path = format!(
            "/api/v1/executions/{namespace}/{flow_id}?{}",
            query.join("&")
        );
        let (status, body) = self.form(path, inputs).await?;
        expect_success(status, &body, "starting the execution")?;
        let created: Value = serde_json::from_str(&body).map_err(|error| error.to_string())?;
        created["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("the API answered no execution id: {body}"))
    }

    /// Resumes a paused execution with `inputs` sent as a form.
    pub async fn resume(&self, id: &str, inputs: &Map<String, Value>) -> Result<(), String> {
        let path = format!("/api/v1/executions/{id}/resume");
        let (status, body) = self.form(path, inputs).await?;
        expect_success(status, &body, "resuming the execution")
    }

    pub async fn kill(&self, id: &str) -> Result<(), String> {
        let path = format!("/api/v1/executions/{id}/kill");
        let (status, body) = self
            .call(move |agent, base| agent.delete(format!("{base}{path}")).call())
            .await?;
        expect_success(status, &body, "killing the execution")
    }

    pub async fn restart(&self, id: &str) -> Result<(), String> {
        let path = format!("/api/v1/executions/{id}/restart");
        let (status, body) = self
            .call(move |agent, base| agent.post(format!("{base}{path}")).send_empty())
            .await?;
        expect_success(status, &body, "restarting the execution")
    }

    /// Posts `inputs` as a multipart form: text as it is, other values as their JSON.
    async fn form(
        &self,
        path: String,
        inputs: &Map<String, Value>,
    ) -> Result<(u16, String), String> {
        let boundary = "peregrine-compat-form";
        let mut body = String::new();
        for (name, value) in inputs {
            let text = match value {
                Value::Null => continue,
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{text}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        self.call(move |agent, base| {
            agent
                .post(format!("{base}{path}"))
                .header(
                    "Content-Type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .send(&body)
        })
        .await
    }
}

fn expect_success(status: u16, body: &str, what: &str) -> Result<(), String> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("{what} through the API answered {status}: {body}"))
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
