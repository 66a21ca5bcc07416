//! PurgeLogs: deletes logs matching a filter.

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Level;
use crate::runnable;

/// Deletes the logs of a namespace, flow or execution written before `endDate`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurgeLogsSpec {
    pub namespace: Option<String>,
    pub flow_id: Option<String>,
    pub execution_id: Option<String>,
    /// Only logs of these levels.
    pub log_levels: Option<Property<Vec<Level>>>,
    /// ISO-8601 date-time: only logs written after it.
    pub start_date: Option<String>,
    /// ISO-8601 date-time: only logs written before it.
    pub end_date: String,
}
runnable!(PurgeLogsSpec, "log.PurgeLogs");

impl peregrine_plugin_api::RunnableTask for PurgeLogsSpec {
    fn run<'a>(
        &'a self,
        context: &'a peregrine_plugin_api::RunContext,
    ) -> peregrine_plugin_api::BoxFuture<
        'a,
        Result<peregrine_plugin_api::TaskOutput, peregrine_plugin_api::TaskError>,
    > {
        Box::pin(async move {
            use peregrine_plugin_api::TaskError;
            use peregrine_ports::repository::LogQuery;
            use serde_json::{Map, json};

            let render = |text: &Option<String>| -> Result<Option<String>, TaskError> {
                text.as_deref().map(|text| context.render(text)).transpose()
            };
            let to = crate::dates::parse_date("endDate", &context.render(&self.end_date)?)?;
            let from = match render(&self.start_date)? {
                Some(text) => Some(crate::dates::parse_date("startDate", &text)?),
                None => None,
            };
            let levels = match &self.log_levels {
                Some(property) => context.render_property("logLevels", property)?,
                None => Vec::new(),
            };
            let query = LogQuery {
                execution_id: render(&self.execution_id)?,
                namespace: render(&self.namespace)?,
                flow_id: render(&self.flow_id)?,
                from,
                to: Some(to),
                ..LogQuery::default()
            };
            let levels = levels.into_iter().map(Into::into).collect();
            let count = peregrine_ports::repository::LogRepository::purge(
                context.services().logs.as_ref(),
                &query,
                levels,
            )
            .await?;
            let mut outputs = Map::new();
            outputs.insert("count".into(), json!(count));
            Ok(peregrine_plugin_api::TaskOutput::success(outputs))
        })
    }
}
