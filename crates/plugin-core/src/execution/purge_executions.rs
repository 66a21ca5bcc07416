//! PurgeExecutions: deletes executions, and their logs, metrics and files.

use peregrine_model::Property;
use peregrine_model::state::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runnable;

/// Deletes ended executions of a namespace or flow, started before `endDate`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurgeExecutionsSpec {
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    /// ISO-8601 date-time: only executions started after it.
    pub start_date: Option<String>,
    /// ISO-8601 date-time: only executions started before it.
    pub end_date: String,
    /// Only executions in these states.
    pub states: Option<Property<Vec<State>>>,
    /// Delete the executions themselves; true by default.
    pub purge_execution: Option<Property<bool>>,
    /// Delete their logs; true by default.
    pub purge_log: Option<Property<bool>>,
    /// Delete their metrics; true by default.
    pub purge_metric: Option<Property<bool>>,
    /// Delete their internal storage files; true by default.
    pub purge_storage: Option<Property<bool>>,
}
runnable!(
    PurgeExecutionsSpec,
    "execution.PurgeExecutions",
    "io.kestra.core.tasks.storages.Purge",
    "io.kestra.plugin.core.storage.Purge"
);

/// A boolean property, `default` when absent.
fn flag(
    context: &peregrine_plugin_api::RunContext,
    name: &str,
    property: &Option<Property<bool>>,
    default: bool,
) -> Result<bool, peregrine_plugin_api::TaskError> {
    match property {
        Some(property) => context.render_property(name, property),
        None => Ok(default),
    }
}

/// One page (newest first) of the ended executions `query` matches, kept in the store; and
/// whether later pages may hold more.
async fn kept_page(
    executions: &dyn peregrine_ports::repository::ExecutionRepository,
    query: &peregrine_ports::repository::PurgeQuery,
    page: usize,
) -> Result<
    (Vec<peregrine_ports::repository::PurgedExecution>, bool),
    peregrine_plugin_api::TaskError,
> {
    use peregrine_ports::retention::BATCH;
    let search = peregrine_ports::repository::ExecutionQuery {
        namespace: query.namespace.clone(),
        flow_id: query.flow_id.clone(),
        states: query.states.clone(),
        page,
        size: BATCH,
    };
    let found = executions.search(&search).await?;
    let more = page.saturating_mul(BATCH) < found.total;
    let matching = found
        .results
        .into_iter()
        .filter(|execution| query.matches(execution))
        .map(|execution| peregrine_ports::repository::PurgedExecution {
            id: execution.id,
            namespace: execution.namespace,
            flow_id: execution.flow_id,
        })
        .collect();
    Ok((matching, more))
}

impl peregrine_plugin_api::RunnableTask for PurgeExecutionsSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            use peregrine_plugin_api::TaskError;
            use peregrine_ports::repository::PurgeQuery;
            use peregrine_ports::retention::{
                PurgeCounts, PurgeOptions, purge_executions, remove_traces,
            };
            use serde_json::{Map, json};

            let render = |text: &Option<String>| -> Result<Option<String>, TaskError> {
                text.as_deref().map(|text| context.render(text)).transpose()
            };
            let end = crate::dates::parse_date("endDate", &context.render(&self.end_date)?)?;
            let start = match render(&self.start_date)? {
                Some(text) => Some(crate::dates::parse_date("startDate", &text)?),
                None => None,
            };
            let query = PurgeQuery {
                namespace: render(&self.namespace)?,
                flow_id: render(&self.flow_id)?,
                started_after: start,
                started_before: end,
                states: match &self.states {
                    Some(property) => context.render_property("states", property)?,
                    None => Vec::new(),
                },
            };
            let options = PurgeOptions {
                logs: flag(context, "purgeLog", &self.purge_log, true)?,
                storage: flag(context, "purgeStorage", &self.purge_storage, true)?,
            };
            let services = context.services();
            let counts = if flag(context, "purgeExecution", &self.purge_execution, true)? {
                purge_executions(
                    services.executions.as_ref(),
                    services.logs.as_ref(),
                    services.storage.as_ref(),
                    &query,
                    options,
                    &|ids| services.control.forget(ids),
                )
                .await?
            } else {
                // The executions stay: their logs and files go, page by page.
                let mut counts = PurgeCounts::default();
                let mut page = 1;
                loop {
                    let (found, more) =
                        kept_page(services.executions.as_ref(), &query, page).await?;
                    let removed = remove_traces(
                        services.logs.as_ref(),
                        services.storage.as_ref(),
                        &found,
                        options,
                    )
                    .await?;
                    counts.logs += removed.logs;
                    counts.files += removed.files;
                    if !more {
                        break counts;
                    }
                    page += 1;
                }
            };
            let mut outputs = Map::new();
            outputs.insert("executionsCount".into(), json!(counts.executions));
            outputs.insert("logsCount".into(), json!(counts.logs));
            outputs.insert("storagesCount".into(), json!(counts.files));
            outputs.insert("metricsCount".into(), json!(0));
            Ok(peregrine_plugin_api::TaskOutput::success(outputs))
        })
    }
}
