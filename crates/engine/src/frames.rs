//! What a flowable decides when it starts: which children, for which loop values, in which order.

use peregrine_model::execution::TaskRun;
use peregrine_model::{Duration, Property};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::expressions::{Expressions, is_truthy, value_text};
use crate::plan::{Flowable, Lists, NodeId};
use crate::state::{Frame, Item, Looping, Strategy};

/// A started flowable: its frame, outputs to record, and whether it pauses.
pub(crate) struct Built {
    pub frame: Frame,
    pub outputs: Option<Map<String, Value>>,
    pub pause: Option<Pause>,
}

pub(crate) struct Pause {
    pub delay: Option<jiff::SignedDuration>,
    pub timeout: Option<jiff::SignedDuration>,
}

/// The frame of the flow itself.
pub fn root_frame(lists: &Lists) -> Frame {
    Frame {
        items: items(&lists.tasks, None),
        errors: items(&lists.errors, None),
        finally: items(&lists.finally, None),
        strategy: Strategy::Sequential,
        allow_failure: false,
        looping: None,
        shared_directory: None,
        closing: None,
        batch: None,
    }
}

fn items(nodes: &[NodeId], value: Option<&String>) -> Vec<Item> {
    nodes
        .iter()
        .map(|&node| Item {
            node,
            value: value.cloned(),
            depends_on: Vec::new(),
            iteration: None,
        })
        .collect()
}

/// Renders a property: a literal as it is, an expression through the engine.
pub(crate) fn render_property<T: serde::Serialize>(
    expressions: &dyn Expressions,
    property: &Property<T>,
    variables: &Value,
) -> Result<Value, String> {
    match property {
        Property::Value(value) => serde_json::to_value(value).map_err(|error| error.to_string()),
        Property::Expression(template) => expressions.render(template, variables),
    }
}

/// Renders a property and reads it as `T` (numbers from strings, as Kestra converts them).
fn render_as<T: DeserializeOwned + serde::Serialize>(
    expressions: &dyn Expressions,
    property: &Property<T>,
    variables: &Value,
) -> Result<T, String> {
    let value = render_property(expressions, property, variables)?;
    let value = match value {
        Value::String(text) => serde_json::from_str(text.trim()).unwrap_or(Value::String(text)),
        other => other,
    };
    serde_json::from_value(value).map_err(|error| error.to_string())
}

/// Renders an ISO-8601 duration property (`PT5S`, or an expression giving one).
fn render_duration(
    expressions: &dyn Expressions,
    property: &Property<Duration>,
    variables: &Value,
) -> Result<jiff::SignedDuration, String> {
    let text = value_text(&render_property(expressions, property, variables)?);
    let duration: Duration = text
        .parse()
        .map_err(|error: peregrine_model::duration::DurationError| error.to_string())?;
    jiff::SignedDuration::try_from(duration.as_std()).map_err(|error| error.to_string())
}

fn limit(
    expressions: &dyn Expressions,
    property: Option<&Property<u32>>,
    variables: &Value,
) -> Result<u32, String> {
    property.map_or(Ok(0), |property| {
        render_as(expressions, property, variables)
    })
}

pub(crate) fn build(
    flowable: &Flowable,
    run: &TaskRun,
    variables: &Value,
    expressions: &dyn Expressions,
    now: jiff::Timestamp,
) -> Result<Built, String> {
    let value = run.value.as_ref();
    let simple = |lists: &Lists, strategy: Strategy, allow_failure: bool| Frame {
        items: items(&lists.tasks, value),
        errors: items(&lists.errors, value),
        finally: items(&lists.finally, value),
        strategy,
        allow_failure,
        looping: None,
        shared_directory: None,
        closing: None,
        batch: None,
    };
    let built = |frame: Frame| Built {
        frame,
        outputs: None,
        pause: None,
    };
    Ok(match flowable {
        Flowable::Sequential {
            lists,
            allow_failure,
        } => built(simple(lists, Strategy::Sequential, *allow_failure)),
        Flowable::Parallel { lists, concurrent } => {
            let limit = limit(expressions, concurrent.as_ref(), variables)?;
            built(simple(lists, Strategy::Parallel { limit }, false))
        }
        Flowable::Switch {
            value: switch_value,
            cases,
            defaults,
            errors,
            finally,
        } => {
            let rendered = value_text(&render_property(expressions, switch_value, variables)?);
            let chosen = cases
                .iter()
                .find(|(key, _)| *key == rendered)
                .map(|(_, tasks)| tasks);
            if chosen.is_none() && defaults.is_empty() {
                return Err(format!(
                    "no case matches '{rendered}' and there are no defaults"
                ));
            }
            let lists = Lists {
                tasks: chosen.unwrap_or(defaults).clone(),
                errors: errors.clone(),
                finally: finally.clone(),
            };
            let mut outputs = Map::new();
            outputs.insert("value".into(), json!(rendered));
            outputs.insert("defaults".into(), json!(chosen.is_none()));
            Built {
                frame: simple(&lists, Strategy::Sequential, false),
                outputs: Some(outputs),
                pause: None,
            }
        }
        Flowable::If {
            condition,
            then,
            otherwise,
            errors,
            finally,
        } => {
            let truthy = is_truthy(&render_property(expressions, condition, variables)?);
            let tasks = if truthy { then } else { otherwise };
            let lists = Lists {
                tasks: tasks.clone(),
                errors: errors.clone(),
                finally: finally.clone(),
            };
            built(simple(&lists, Strategy::Sequential, false))
        }
        Flowable::ForEach {
            values,
            lists,
            concurrency_limit,
        } => {
            let values = loop_values(values, variables, expressions)?;
            let mut children = Vec::new();
            for loop_value in &values {
                children.extend(items(&lists.tasks, Some(loop_value)));
            }
            let limit = limit(expressions, concurrency_limit.as_ref(), variables)?;
            let strategy = if limit == 1 {
                Strategy::Sequential
            } else {
                Strategy::Concurrent { limit }
            };
            let frame = Frame {
                items: children,
                errors: items(&lists.errors, value),
                finally: items(&lists.finally, value),
                strategy,
                allow_failure: false,
                looping: None,
                shared_directory: None,
                closing: None,
                batch: None,
            };
            built(frame)
        }
        Flowable::Dag {
            tasks,
            errors,
            finally,
            concurrent,
        } => {
            let limit = limit(expressions, concurrent.as_ref(), variables)?;
            let frame = Frame {
                items: tasks
                    .iter()
                    .map(|(node, depends_on)| Item {
                        node: *node,
                        value: value.cloned(),
                        depends_on: depends_on.clone(),
                        iteration: None,
                    })
                    .collect(),
                errors: items(errors, value),
                finally: items(finally, value),
                strategy: Strategy::Dag { limit },
                allow_failure: false,
                looping: None,
                shared_directory: None,
                closing: None,
                batch: None,
            };
            built(frame)
        }
        Flowable::Pause { spec, lists } => {
            let duration = |property: &Option<Property<Duration>>| {
                property
                    .as_ref()
                    .map(|property| render_duration(expressions, property, variables))
                    .transpose()
            };
            let delay = duration(&spec.delay)?.or(duration(&spec.pause_duration)?);
            let timeout = duration(&spec.timeout)?;
            Built {
                frame: simple(lists, Strategy::Sequential, false),
                outputs: None,
                pause: Some(Pause { delay, timeout }),
            }
        }
        Flowable::WorkingDirectory {
            input_files,
            cache,
            output_files,
            namespace_files,
            lists,
        } => {
            let input_files = match input_files {
                None => Map::new(),
                Some(files) => {
                    match crate::executor_tasks::render_tree(expressions, files, variables)? {
                        Value::Object(map) => map,
                        Value::String(json) => serde_json::from_str(&json).map_err(|_| {
                            format!("inputFiles must be a mapping of name to content, got '{json}'")
                        })?,
                        other => {
                            return Err(format!(
                                "inputFiles must be a mapping of name to content, got {other}"
                            ));
                        }
                    }
                }
            };
            let mut frame = simple(lists, Strategy::Sequential, false);
            let output_files = output_files
                .iter()
                .map(|pattern| {
                    crate::executor_tasks::render_tree(
                        expressions,
                        &Value::String(pattern.clone()),
                        variables,
                    )
                    .map(|rendered| crate::expressions::value_text(&rendered))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let cache = cache.as_ref().map(|cache| crate::effects::DirectoryCache {
                task_id: run.task_id.clone(),
                value: run.value.clone(),
                patterns: cache.patterns.clone(),
                ttl: cache.ttl,
            });
            frame.shared_directory = Some(crate::effects::SharedDirectory {
                key: run.id.clone(),
                input_files,
                cache,
                output_files,
                namespace_files: namespace_files.as_deref().cloned(),
            });
            built(frame)
        }
        Flowable::Loop { spec, lists } => {
            let duration = |property: Option<&Property<Duration>>, default: i64| match property {
                Some(property) => render_duration(expressions, property, variables),
                None => Ok(jiff::SignedDuration::from_secs(default)),
            };
            let frequency = spec.check_frequency.as_ref();
            let max_iterations =
                match frequency.and_then(|frequency| frequency.max_iterations.as_ref()) {
                    Some(property) => render_as(expressions, property, variables)?,
                    None => 100,
                };
            let fail_on_max = match &spec.fail_on_max_reached {
                Some(property) => render_as(expressions, property, variables)?,
                None => false,
            };
            let looping = Looping {
                condition: spec.condition.clone(),
                iteration: 1,
                max_iterations,
                max_duration: duration(
                    frequency.and_then(|frequency| frequency.max_duration.as_ref()),
                    3600,
                )?,
                interval: duration(
                    frequency.and_then(|frequency| frequency.interval.as_ref()),
                    1,
                )?,
                fail_on_max,
                started: now,
                waiting: false,
            };
            let mut frame = simple(lists, Strategy::Sequential, false);
            for item in frame.items.iter_mut().chain(frame.errors.iter_mut()) {
                item.iteration = Some(1);
            }
            frame.looping = Some(looping);
            let mut outputs = Map::new();
            outputs.insert("iterationCount".into(), json!(1));
            Built {
                frame,
                outputs: Some(outputs),
                pause: None,
            }
        }
        Flowable::Subflow(_) | Flowable::SubflowPerBatch(_) => {
            return Err("a subflow task has no children to run".to_string());
        }
        Flowable::Unsupported(name) => {
            return Err(format!("{name} is not supported by this engine yet"));
        }
    })
}

/// The values of a ForEach: a list, or an expression or JSON text giving a list.
fn loop_values(
    values: &Value,
    variables: &Value,
    expressions: &dyn Expressions,
) -> Result<Vec<String>, String> {
    let resolved = match values {
        Value::String(template) => {
            let rendered = expressions.render(template, variables)?;
            match rendered {
                Value::String(text) => serde_json::from_str::<Value>(&text)
                    .map_err(|_| format!("values must be a list or a JSON array, got '{text}'"))?,
                other => other,
            }
        }
        other => other.clone(),
    };
    let Value::Array(list) = resolved else {
        return Err("values must be a list".to_string());
    };
    let mut seen = std::collections::HashSet::new();
    let mut texts = Vec::new();
    for item in &list {
        if item.is_null() {
            return Err("values must not contain null".to_string());
        }
        let rendered = match item {
            Value::String(text) if text.contains("{{") => {
                value_text(&expressions.render(text, variables)?)
            }
            other => value_text(other),
        };
        if seen.insert(rendered.clone()) {
            texts.push(rendered);
        }
    }
    Ok(texts)
}
