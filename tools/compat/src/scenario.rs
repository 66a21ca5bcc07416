//! One flow's scenario: its cases run in order on one runtime, each a new execution (with the
//! values its test makes at test time) or a follow-up action on the previous one (restart,
//! resume, mark as, kill, another run), then compared with what the test asserts.

use std::sync::Arc;
use std::time::Duration;

use peregrine_engine::{Event, FlowPlan, NewExecution};
use peregrine_model::execution::Execution;
use peregrine_model::flow::{Input, Label};
use peregrine_model::state::State;
use peregrine_model::tasks::PauseSpec;
use peregrine_model::{Flow, Registry};
use peregrine_node::runtime::LocalRuntime;
use peregrine_ports::kv::KvStore;
use peregrine_ports::storage::{Storage, StorageContext};
use peregrine_ports::triggers::TriggerStore;
use serde_json::{Map, Value};

use crate::checks;
use crate::expectations::{Case, Entry};
use crate::stored_files;
use crate::test_time::{self, Maker, Memory, Prepared};

/// Everything a scenario runs with.
pub struct Scenario<'a> {
    pub entry: &'a Entry,
    /// Every entry of the corpus (a child flow's scenario runs its parent's).
    pub entries: &'a [Entry],
    pub flow: Arc<Flow>,
    pub registry: &'a Registry,
    pub local: LocalRuntime,
    /// The runtime's internal storage and key-value store.
    pub storage: Arc<dyn Storage>,
    pub kv: Arc<dyn KvStore>,
    /// The scheduler's trigger states, as tasks see them.
    pub triggers: Arc<dyn TriggerStore>,
    pub timeout: Duration,
    /// Started by its Flow trigger, as in Kestra's tests.
    pub listener: bool,
    /// On the roles topologies, the webserver of its own that executions are started, killed,
    /// restarted and resumed through (except starts with files stored beforehand or with inputs
    /// given unchecked, which only this process's executor takes).
    pub api: Option<crate::roles::Api>,
}

/// A case that ran: its execution once settled, and what the runner made for it.
struct Ran {
    execution: Execution,
    prepared: Prepared,
}

impl Scenario<'_> {
    /// Every mismatch of every case (labelled from the second case on).
    pub async fn run(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut previous: Option<String> = None;
        let mut memory = Memory::default();
        for (index, case) in self.entry.cases.iter().enumerate() {
            if case.other_backend_only() {
                continue;
            }
            let label = if index == 0 {
                String::new()
            } else {
                format!("case {index}: ")
            };
            let result = self.run_case(case, previous.as_deref(), &mut memory).await;
            match result {
                Ok(ran) => {
                    previous = Some(ran.execution.id.clone());
                    let found = self.check(case, &ran).await;
                    problems.extend(found.into_iter().map(|problem| format!("{label}{problem}")));
                }
                Err(problem) => problems.push(format!("{label}{problem}")),
            }
        }
        problems
    }

    async fn check(&self, case: &Case, ran: &Ran) -> Vec<String> {
        let files = stored_files::referenced(self.storage.as_ref(), &ran.execution).await;
        let all = self.local.executions();
        let context = checks::Context {
            all: &all,
            files: &files,
            flow: &self.flow,
            given: &ran.prepared.inputs,
        };
        let mut problems = checks::check(&case.expect, &ran.execution, &context);
        if let Some(key) = crate::trigger_state::disabled_before_the_run(self.entry, &self.flow) {
            let triggers = self.triggers.as_ref();
            problems.extend(crate::trigger_state::check_enabled(triggers, &key).await);
        }
        // The files the runner stored are read back whole where the execution refers to them.
        for (uri, bytes) in &ran.prepared.uploads {
            if let Some(found) = files.get(uri).filter(|found| *found != bytes) {
                problems.push(format!(
                    "file {uri}: stored {} bytes, read back {}",
                    bytes.len(),
                    found.len()
                ));
            }
        }
        // An execution the case acted on (one it resumed) must end.
        for id in &ran.prepared.awaited {
            let ended = self
                .local
                .wait_for(id, Duration::from_secs(5), |execution| {
                    execution.state.is_terminated()
                })
                .await;
            if let Err(error) = ended {
                problems.push(error.to_string());
            }
        }
        problems
    }

    /// Runs one case. Returns the execution once it has settled (ended, or paused when the
    /// case expects PAUSED).
    async fn run_case(
        &self,
        case: &Case,
        previous: Option<&str>,
        memory: &mut Memory,
    ) -> Result<Ran, String> {
        crate::seeds::seed_kv(self.kv.as_ref(), self.entry, case).await?;
        if let Some(key) = crate::trigger_state::disabled_before_the_run(self.entry, &self.flow) {
            crate::trigger_state::seed(self.triggers.as_ref(), &key).await?;
        }
        crate::seeds::seed_namespace_files(self.storage.as_ref(), self.entry, case).await?;
        let action = case.action.as_deref().unwrap_or_default();
        if (self.listener || case.expect.contains_key("trigger_variables"))
            && action.is_empty()
            && case.inputs.is_empty()
        {
            return self.run_triggered().await;
        }
        if case.from_parent {
            return self.run_as_child(memory).await;
        }
        let expects_paused = case.expect.get("state").and_then(Value::as_str) == Some("PAUSED");
        // A restart keeps the id: wait for the new attempt, not the old end.
        let mut attempt = 0;
        let mut prepared = Prepared::default();
        let id = if action == "restart" {
            let id = previous.ok_or("no previous execution to restart")?;
            let before = self.ended(id).await?;
            attempt = before.metadata.attempt_number;
            match &self.api {
                Some(api) => api.restart(id).await?,
                None => self.local.send(id, Event::Restart),
            }
            id.to_string()
        } else if action.starts_with("resume") || action.starts_with("mark task run") {
            match self.resume(case, action, previous, memory).await? {
                Resumed::Running(id) => id,
                Resumed::Refused(execution) => {
                    return Ok(Ran {
                        execution: *execution,
                        prepared,
                    });
                }
            }
        } else if action.starts_with("kill") {
            prepared = self.prepare(case, memory).await?;
            let id = self.start(case, &prepared).await?;
            self.local
                .wait_for(&id, self.timeout, |execution| {
                    execution
                        .task_run_list
                        .iter()
                        .any(|run| run.state.current == State::Running)
                })
                .await
                .map_err(|error| error.to_string())?;
            match &self.api {
                Some(api) => api.kill(&id).await?,
                None => self.local.send(&id, Event::Kill),
            }
            id
        } else if action.is_empty() || action.ends_with(" run") || action.contains(" run (") {
            // A plain run, or the next run of a scenario whose runs share state (a cache).
            prepared = self.prepare(case, memory).await?;
            self.start(case, &prepared).await?
        } else {
            return Err(format!("follow-up action not supported yet: {action}"));
        };
        let settled = move |execution: &Execution| {
            let ended = execution.state.is_terminated()
                || expects_paused && execution.state.current == State::Paused;
            ended && execution.metadata.attempt_number > attempt
        };
        let execution = self
            .local
            .wait_for(&id, self.timeout, settled)
            .await
            .map_err(|error| error.to_string())?;
        if let Some(expected) = case
            .expect
            .get("terminal_executions")
            .and_then(Value::as_array)
        {
            self.wait_for_chain(expected.len()).await;
        }
        Ok(Ran {
            execution,
            prepared,
        })
    }

    async fn prepare(&self, case: &Case, memory: &mut Memory) -> Result<Prepared, String> {
        self.maker()
            .prepare(&self.entry.namespace, &self.entry.id, &case.inputs, memory)
            .await
    }

    fn maker(&self) -> Maker<'_> {
        Maker {
            local: &self.local,
            storage: self.storage.as_ref(),
            timeout: self.timeout,
        }
    }

    /// Starts the case's execution: with the chosen id when files were stored under it.
    async fn start(&self, case: &Case, prepared: &Prepared) -> Result<String, String> {
        let labels: Vec<Label> = case
            .labels
            .iter()
            .map(|(key, value)| Label {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        let (namespace, flow_id) = (&self.entry.namespace, &self.entry.id);
        if let Some(api) = &self.api
            && !prepared.needs_id()
            && !case.raw_inputs
        {
            return api
                .start(namespace, flow_id, &prepared.inputs, &labels)
                .await;
        }
        let started = if prepared.needs_id() {
            let new = NewExecution {
                id: prepared.id.clone(),
                labels,
                ..NewExecution::default()
            };
            self.local.create(namespace, flow_id, &prepared.inputs, new)
        } else {
            self.local.execute_labelled(
                namespace,
                flow_id,
                prepared.inputs.clone(),
                labels,
                !case.raw_inputs,
            )
        };
        started.map_err(|error| error.to_string())
    }

    async fn ended(&self, id: &str) -> Result<Execution, String> {
        self.local
            .wait_for(id, self.timeout, |execution| {
                execution.state.is_terminated()
            })
            .await
            .map_err(|error| error.to_string())
    }

    /// Resumes the previous execution once paused (a new one run until paused when the previous
    /// one has ended), with the action's `onResume` values typed as Kestra's resume does.
    async fn resume(
        &self,
        case: &Case,
        action: &str,
        previous: Option<&str>,
        memory: &mut Memory,
    ) -> Result<Resumed, String> {
        let previous = previous.ok_or("no previous execution to act on")?;
        let still_paused = self
            .local
            .execution(previous)
            .is_some_and(|execution| !execution.state.is_terminated());
        let id = if still_paused {
            previous.to_string()
        } else {
            let prepared = self.prepare(case, memory).await?;
            self.start(case, &prepared).await?
        };
        let paused = self
            .local
            .wait_for(&id, self.timeout, |execution| {
                execution.state.current == State::Paused
            })
            .await
            .map_err(|error| error.to_string())?;
        if action.starts_with("mark task run") {
            // Marking a task run is not a resume: this process's executor does it.
            self.local.send(&id, Event::Resume { inputs: None });
            return Ok(Resumed::Running(id));
        }
        let Some(declared) = self.on_resume_inputs(&paused) else {
            match &self.api {
                Some(api) => api.resume(&id, &Map::new()).await?,
                None => self.local.send(&id, Event::Resume { inputs: None }),
            }
            return Ok(Resumed::Running(id));
        };
        let test_time::ResumeValues {
            inputs: mut given,
            files,
        } = test_time::resume_values(action, &id);
        let context = StorageContext::new(&paused.namespace, &paused.flow_id, &paused.id);
        for (input, bytes) in files {
            let path = context
                .input_file(&input, &format!("{input}.upl"))
                .map_err(|error| error.to_string())?;
            self.storage
                .put(&path, bytes)
                .await
                .map_err(|error| error.to_string())?;
            given.insert(input, Value::String(path.uri()));
        }
        let refusal = refusal_expected(case.notes());
        match peregrine_engine::inputs::typed_values(&declared, &given) {
            Ok(typed) => {
                if let Some(expected) = refusal {
                    return Err(format!("resuming should fail with '{expected}'"));
                }
                if let Some(api) = &self.api {
                    api.resume(&id, &given).await?;
                    return Ok(Resumed::Running(id));
                }
                let mut outputs = Map::new();
                outputs.insert("onResume".into(), Value::Object(typed));
                self.local.send(
                    &id,
                    Event::Resume {
                        inputs: Some(outputs),
                    },
                );
                Ok(Resumed::Running(id))
            }
            Err(errors) => {
                let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
                match refusal {
                    Some(expected) if messages.iter().any(|message| message.contains(expected)) => {
                        Ok(Resumed::Refused(Box::new(paused)))
                    }
                    _ => Err(format!("resuming was refused: {}", messages.join("; "))),
                }
            }
        }
    }

    /// The `onResume` inputs of the execution's first paused task, when it is a Pause task
    /// that declares some.
    fn on_resume_inputs(&self, execution: &Execution) -> Option<Vec<Input>> {
        let paused = execution
            .task_run_list
            .iter()
            .find(|run| run.state.current == State::Paused)?;
        let plan = FlowPlan::new(self.flow.clone(), &|type_name| {
            peregrine_node::role_of(self.registry, type_name)
        })
        .ok()?;
        let node = plan.find(&paused.task_id)?;
        let pause: PauseSpec = plan.node(node).task.spec().ok()?;
        Some(pause.on_resume).filter(|declared| !declared.is_empty())
    }

    /// Retries as new executions: waits for the whole chain to end.
    async fn wait_for_chain(&self, count: usize) {
        let deadline = std::time::Instant::now() + self.timeout;
        loop {
            let of_flow = self.of_flow(&self.entry.namespace, &self.entry.id);
            let all_ended = of_flow.iter().all(|other| other.state.is_terminated());
            if all_ended && of_flow.len() >= count || std::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn of_flow(&self, namespace: &str, flow_id: &str) -> Vec<Execution> {
        self.local
            .executions()
            .into_iter()
            .filter(|execution| execution.namespace == namespace && execution.flow_id == flow_id)
            .collect()
    }

    /// A flow started by its Flow trigger, as Kestra's test does: run the related (source)
    /// flows, then take the execution of this flow they triggered, once it has ended.
    async fn run_triggered(&self) -> Result<Ran, String> {
        for uid in &self.entry.related {
            let (namespace, flow_id) = split_uid(uid);
            let id = self
                .local
                .execute_unchecked(namespace, flow_id, Map::new())
                .map_err(|error| error.to_string())?;
            self.ended(&id).await?;
        }
        let execution = self.last_ended_of_this_flow().await.ok_or_else(|| {
            format!(
                "no execution of {} was triggered and ended in time",
                self.entry.id
            )
        })?;
        Ok(Ran {
            execution,
            prepared: Prepared::default(),
        })
    }

    /// A flow whose inputs a parent sets (ForEachItem, Subflow), as Kestra's test runs it: run
    /// the parent's first case, then take this flow's last execution once all have ended.
    async fn run_as_child(&self, memory: &mut Memory) -> Result<Ran, String> {
        let parent_uid = self
            .entry
            .related
            .iter()
            .find(|uid| uid.ends_with("(parent)"))
            .ok_or("no parent flow to run")?;
        let (namespace, flow_id) = split_uid(parent_uid);
        let parent = self
            .entries
            .iter()
            .find(|entry| entry.namespace == namespace && entry.id == flow_id)
            .ok_or_else(|| format!("no expectations for the parent flow {parent_uid}"))?;
        let parent_case = parent.cases.first().ok_or("the parent has no case")?;
        let prepared = self
            .maker()
            .prepare(namespace, flow_id, &parent_case.inputs, memory)
            .await?;
        let new = NewExecution {
            id: prepared.id.clone(),
            ..NewExecution::default()
        };
        let id = self
            .local
            .create(namespace, flow_id, &prepared.inputs, new)
            .map_err(|error| error.to_string())?;
        self.ended(&id).await?;
        // Children start before their parent ends (a moment after, when it does not wait).
        tokio::time::sleep(Duration::from_millis(200)).await;
        if self
            .of_flow(&self.entry.namespace, &self.entry.id)
            .is_empty()
        {
            return Err(format!(
                "the parent {parent_uid} started no execution of this flow"
            ));
        }
        let execution = self.last_ended_of_this_flow().await.ok_or_else(|| {
            format!("the executions of this flow started by {parent_uid} did not end in time")
        })?;
        Ok(Ran {
            execution,
            prepared: Prepared::default(),
        })
    }

    /// The latest-started execution of this flow once every one of them has ended.
    async fn last_ended_of_this_flow(&self) -> Option<Execution> {
        let deadline = std::time::Instant::now() + self.timeout;
        loop {
            let found = self.of_flow(&self.entry.namespace, &self.entry.id);
            if !found.is_empty()
                && found
                    .iter()
                    .all(|execution| execution.state.is_terminated())
            {
                return found
                    .into_iter()
                    .max_by_key(|execution| execution.state.start_date);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// How a resume went.
enum Resumed {
    /// The execution runs on.
    Running(String),
    /// The values were refused, as the case expects: the execution stays paused.
    Refused(Box<Execution>),
}

/// The error a case expects resuming to fail with, from its notes ("Resuming fails with a
/// validation error containing: ...").
fn refusal_expected(notes: &str) -> Option<&str> {
    let marker = "fails with a validation error containing: ";
    let start = notes.find(marker)? + marker.len();
    Some(notes[start..].trim())
}

/// `namespace/id`, possibly followed by words (`io.kestra.tests/for-each-item (parent)`).
fn split_uid(uid: &str) -> (&str, &str) {
    let uid = uid.split_whitespace().next().unwrap_or(uid);
    uid.split_once('/').unwrap_or(("", uid))
}
