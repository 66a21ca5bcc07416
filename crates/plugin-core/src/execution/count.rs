//! Count: counts executions of flows and evaluates a condition on each count.

use peregrine_model::Property;
use peregrine_model::state::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// One flow whose executions are counted.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CountedFlow {
    pub namespace: String,
    pub flow_id: String,
}

/// Counts executions between two dates and keeps the flows whose count matches `expression`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountSpec {
    /// The flows to count (or use `namespaces`).
    pub flows: Option<Vec<CountedFlow>>,
    /// Only executions in these states.
    pub states: Option<Property<Vec<State>>>,
    /// ISO-8601 date-time: count executions started after it.
    pub start_date: String,
    /// ISO-8601 date-time: count executions started before it; now by default.
    pub end_date: Option<String>,
    /// A template rendered for each flow with `count`; true keeps the flow in the results.
    pub expression: String,
    /// Count the executions of every flow in these namespaces.
    pub namespaces: Option<Property<Vec<String>>>,
}
runnable!(
    CountSpec,
    "execution.Count",
    "io.kestra.core.tasks.executions.Counts"
);

/// Executions read per page while counting.
const PAGE_SIZE: usize = 500;

/// The executions started between two dates, counted by namespace and flow.
struct Counter<'a> {
    start: jiff::Timestamp,
    end: jiff::Timestamp,
    states: &'a [State],
    seen: std::collections::HashSet<String>,
    counts: std::collections::BTreeMap<(String, String), u64>,
}

impl Counter<'_> {
    /// Counts the executions of one flow (`flow_id`) or of one namespace (exactly, not its
    /// children); an execution already counted is not counted again.
    async fn add(
        &mut self,
        executions: &dyn peregrine_ports::repository::ExecutionRepository,
        namespace: &str,
        flow_id: Option<&str>,
    ) -> Result<(), peregrine_plugin_api::TaskError> {
        let mut page = 1;
        loop {
            let query = peregrine_ports::repository::ExecutionQuery {
                namespace: Some(namespace.to_string()),
                flow_id: flow_id.map(str::to_string),
                states: self.states.to_vec(),
                page,
                size: PAGE_SIZE,
            };
            let found = executions.search(&query).await?;
            let mut older = false;
            for execution in &found.results {
                let Some(started) = execution.state.started() else {
                    continue;
                };
                older = started < self.start;
                if execution.namespace != namespace || started < self.start || started > self.end {
                    continue;
                }
                if self.seen.insert(execution.id.clone()) {
                    *self
                        .counts
                        .entry((execution.namespace.clone(), execution.flow_id.clone()))
                        .or_default() += 1;
                }
            }
            // Searches are newest first: past the start date, nothing further counts.
            if older || found.results.is_empty() || page.saturating_mul(PAGE_SIZE) >= found.total {
                return Ok(());
            }
            page += 1;
        }
    }
}

impl peregrine_plugin_api::RunnableTask for CountSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            use peregrine_plugin_api::{LogLevel, TaskError};
            use serde_json::{Map, Value, json};

            let namespaces = match &self.namespaces {
                Some(property) => Some(context.render_property("namespaces", property)?),
                None => None,
            };
            if self.flows.is_none() && namespaces.is_none() {
                return Err(TaskError::Property {
                    property: "flows".into(),
                    message: "You must provide a list of flows or namespaces".into(),
                });
            }
            let states = match &self.states {
                Some(property) => context.render_property("states", property)?,
                None => Vec::new(),
            };
            let start = crate::dates::parse_date("startDate", &context.render(&self.start_date)?)?;
            let end = match &self.end_date {
                Some(end) => crate::dates::parse_date("endDate", &context.render(end)?)?,
                None => jiff::Timestamp::now(),
            };
            let executions = context.services().executions.clone();
            let mut counter = Counter {
                start,
                end,
                states: &states,
                seen: Default::default(),
                counts: Default::default(),
            };
            for flow in self.flows.iter().flatten() {
                counter
                    .add(executions.as_ref(), &flow.namespace, Some(&flow.flow_id))
                    .await?;
            }
            for namespace in namespaces.iter().flatten() {
                counter.add(executions.as_ref(), namespace, None).await?;
            }
            // One row per flow asked for (0 when it has no execution), then one per namespace
            // holding counted executions, as Kestra's repository answers.
            let mut rows: Vec<(String, Option<String>, u64)> = Vec::new();
            for flow in self.flows.iter().flatten() {
                let key = (flow.namespace.clone(), flow.flow_id.clone());
                let count = counter.counts.get(&key).copied().unwrap_or(0);
                rows.push((key.0, Some(key.1), count));
            }
            if namespaces.is_some() {
                let mut by_namespace = std::collections::BTreeMap::<String, u64>::new();
                for ((namespace, _), count) in &counter.counts {
                    *by_namespace.entry(namespace.clone()).or_default() += count;
                }
                rows.extend(
                    by_namespace
                        .into_iter()
                        .map(|(namespace, count)| (namespace, None, count)),
                );
            }
            context.log(
                LogLevel::Trace,
                format!("{} flows matching filters", rows.len()),
            );
            let mut results = Vec::new();
            let mut total = 0;
            for (namespace, flow_id, count) in rows {
                let mut variables = Map::new();
                variables.insert("count".into(), json!(count));
                if context.render_with(&self.expression, &variables)?.trim() != "true" {
                    continue;
                }
                total += count;
                let mut result = Map::new();
                result.insert("namespace".into(), Value::String(namespace));
                if let Some(flow_id) = flow_id {
                    result.insert("flowId".into(), Value::String(flow_id));
                }
                result.insert("count".into(), json!(count));
                results.push(Value::Object(result));
            }
            context.log(
                LogLevel::Debug,
                format!("{} flows matching the expression", results.len()),
            );
            let mut outputs = Map::new();
            outputs.insert("results".into(), Value::Array(results));
            outputs.insert("total".into(), json!(total));
            Ok(peregrine_plugin_api::TaskOutput::success(outputs))
        })
    }
}
