//! Connects the model's expression port to the Pebble-compatible engine: syntax checks for the
//! validator, rendering for the engine and the tasks, and the functions that reach the outside
//! world (`secret`, `kv`, `read`, `fileURI`, `fileSize`) served from the task services.
//!
//! Rendering is synchronous and the ports are async: a host function waits for its port call
//! with [`block_on`] (see docs/adr/0003-sync-expressions-over-async-ports.md).

use std::future::Future;

use jiff::Timestamp;
use peregrine_expr::{Args, Error, Host, Variables};
use peregrine_model::expressions::Expressions;
use peregrine_model::property::is_expression;
use peregrine_model::schema::ExpressionSyntax;
use peregrine_plugin_api::TaskServices;
use peregrine_ports::storage::{StorageContext, StoragePath, namespace_files_prefix};
use serde_json::{Map, Value};

/// Checks and renders `{{ }}` / `{% %}` templates with `peregrine-expr`; no I/O functions.
#[derive(Clone, Copy, Debug, Default)]
pub struct PebbleSyntax;

impl ExpressionSyntax for PebbleSyntax {
    fn check(&self, template: &str) -> Result<(), String> {
        peregrine_expr::validate_syntax(template).map_err(|error| error.to_string())
    }
}

/// The clock behind `now()`: the composition root is where the wall clock is read.
struct WallClock;

impl Host for WallClock {
    fn call(
        &self,
        _name: &str,
        _args: &Args,
        _variables: &dyn Variables,
    ) -> Option<Result<Value, Error>> {
        None
    }

    fn now(&self) -> Option<Timestamp> {
        Some(Timestamp::now())
    }
}

impl Expressions for PebbleSyntax {
    fn render(&self, template: &str, variables: &Value) -> Result<Value, String> {
        let context = peregrine_expr::Context::new(variables).with_host(&WallClock);
        peregrine_expr::render_typed(template, &context).map_err(|error| error.to_string())
    }
}

/// Renders like [`PebbleSyntax`] and serves the I/O functions from the services.
#[derive(Clone, Debug)]
pub struct RuntimeExpressions {
    host: ServicesHost,
}

impl RuntimeExpressions {
    pub fn new(services: TaskServices) -> Self {
        Self {
            host: ServicesHost { services },
        }
    }
}

impl Expressions for RuntimeExpressions {
    fn render(&self, template: &str, variables: &Value) -> Result<Value, String> {
        let context = peregrine_expr::Context::new(variables).with_host(&self.host);
        peregrine_expr::render_typed(template, &context).map_err(|error| error.to_string())
    }
}

#[derive(Clone, Debug)]
struct ServicesHost {
    services: TaskServices,
}

impl Host for ServicesHost {
    fn call(
        &self,
        name: &str,
        args: &Args,
        variables: &dyn Variables,
    ) -> Option<Result<Value, Error>> {
        Some(match name {
            "secret" => self.secret(args, variables),
            "kv" => self.kv(args, variables),
            "read" => self.read(args, variables),
            "fileURI" => file_uri(args, variables),
            "fileSize" => self.file_size(args, variables),
            _ => return None,
        })
    }

    fn now(&self) -> Option<Timestamp> {
        Some(Timestamp::now())
    }
}

const KESTRA_URI_PREFIX: &str = "kestra:///";

impl ServicesHost {
    /// `secret(key)`: the decoded secret; an error when there is none.
    fn secret(&self, args: &Args, variables: &dyn Variables) -> Result<Value, Error> {
        let key = required(args, "secret", "key")?;
        let namespace = field(variables, "flow", "namespace").unwrap_or_default();
        match block_on(self.services.secrets.get(namespace, key))? {
            Ok(Some(secret)) => Ok(Value::String(secret)),
            Ok(None) => Err(Error::host(format!("cannot find secret for key '{key}'"))),
            Err(error) => Err(Error::host(error.to_string())),
        }
    }

    /// `kv(key, namespace?, errorOnMissing?)`: the live value; a missing key is null, or an
    /// error with `errorOnMissing=true` (what Kestra's own tests assert).
    fn kv(&self, args: &Args, variables: &dyn Variables) -> Result<Value, Error> {
        let key = required(args, "kv", "key")?;
        let namespace = match args.get_str("namespace", 1) {
            Some(namespace) => namespace,
            None => flow_namespace(variables)?,
        };
        let error_on_missing = args.get("errorOnMissing", 2) == Some(&Value::Bool(true));
        let record = block_on(self.services.kv.get(namespace, key, Timestamp::now()))?
            .map_err(|error| Error::host(error.to_string()))?;
        match record {
            Some(record) => Ok(record.value.to_json()),
            None if error_on_missing => Err(Error::host(format!(
                "the key '{key}' does not exist in the namespace '{namespace}'"
            ))),
            None => Ok(Value::Null),
        }
    }

    /// `read(path, namespace?)`: a file of this execution (`kestra:///...`) or a namespace file,
    /// as text.
    fn read(&self, args: &Args, variables: &dyn Variables) -> Result<Value, Error> {
        let path = required(args, "read", "path")?;
        let storage_path = if path.starts_with(KESTRA_URI_PREFIX) {
            execution_file(path, variables)?
        } else {
            let namespace = match args.get_str("namespace", 1) {
                Some(namespace) => namespace,
                None => flow_namespace(variables)?,
            };
            namespace_files_prefix(namespace)
                .and_then(|prefix| prefix.join(path))
                .map_err(|error| Error::host(error.to_string()))?
        };
        let bytes = block_on(self.services.storage.get(&storage_path))?
            .map_err(|error| Error::host(error.to_string()))?;
        Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// `fileSize(uri)`: the size in bytes of a file of this execution.
    fn file_size(&self, args: &Args, variables: &dyn Variables) -> Result<Value, Error> {
        let path = required(args, "fileSize", "path")?;
        if !path.starts_with(KESTRA_URI_PREFIX) {
            return Err(Error::host(format!(
                "fileSize expects an internal storage URI (kestra:///...), got '{path}'"
            )));
        }
        let storage_path = execution_file(path, variables)?;
        let size = block_on(self.services.storage.size(&storage_path))?
            .map_err(|error| Error::host(error.to_string()))?;
        Ok(Value::from(size))
    }
}

/// `fileURI(path, namespace?)`: the `kestra:///` URI of a namespace file.
fn file_uri(args: &Args, variables: &dyn Variables) -> Result<Value, Error> {
    let path = required(args, "fileURI", "path")?;
    if path.contains("../") {
        return Err(Error::host("the path must not contain '../'"));
    }
    let namespace = match args.get_str("namespace", 1) {
        Some(namespace) => namespace,
        None => flow_namespace(variables)?,
    };
    namespace_files_prefix(namespace)
        .and_then(|prefix| prefix.join(path))
        .map(|file| Value::String(file.uri()))
        .map_err(|error| Error::host(error.to_string()))
}

/// A file URI that must belong to the current execution, or to the execution whose end
/// triggered this one (`trigger.executionId`), as Kestra allows.
fn execution_file(uri: &str, variables: &dyn Variables) -> Result<StoragePath, Error> {
    let path = StoragePath::from_uri(uri).map_err(|error| Error::host(error.to_string()))?;
    let current = match (
        field(variables, "flow", "namespace"),
        field(variables, "flow", "id"),
        field(variables, "execution", "id"),
    ) {
        (Some(namespace), Some(flow_id), Some(execution_id)) => {
            Some(StorageContext::new(namespace, flow_id, execution_id))
        }
        _ => None,
    };
    let parent = match (
        field(variables, "trigger", "namespace"),
        field(variables, "trigger", "flowId"),
        field(variables, "trigger", "executionId"),
    ) {
        (Some(namespace), Some(flow_id), Some(execution_id)) => {
            Some(StorageContext::new(namespace, flow_id, execution_id))
        }
        _ => None,
    };
    if [current, parent]
        .iter()
        .flatten()
        .any(|context| context.owns(&path))
    {
        Ok(path)
    } else {
        Err(Error::host(format!(
            "unable to read the file '{uri}' as it does not belong to the current execution"
        )))
    }
}

fn required<'a>(args: &'a Args, function: &str, name: &str) -> Result<&'a str, Error> {
    args.get_str(name, 0).ok_or_else(|| {
        Error::host(format!(
            "the '{function}' function expects a text argument '{name}'"
        ))
    })
}

fn field<'a>(variables: &'a dyn Variables, object: &str, name: &str) -> Option<&'a str> {
    variables.get(object)?.get(name)?.as_str()
}

fn flow_namespace(variables: &dyn Variables) -> Result<&str, Error> {
    field(variables, "flow", "namespace")
        .ok_or_else(|| Error::host("no flow namespace in this context"))
}

/// Waits for a port call from synchronous rendering.
///
/// On a multi-thread runtime (the server, `flow test`) the current worker thread is handed over
/// with `block_in_place` while it waits. On a current-thread runtime that cannot be done, so the
/// future runs on a helper thread entered into the runtime (enough for backends whose I/O runs
/// on the blocking pool: memory, local files). Outside any runtime a temporary one is built.
fn block_on<F>(future: F) -> Result<F::Output, Error>
where
    F: Future + Send,
    F::Output: Send,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::CurrentThread => {
            std::thread::scope(|scope| scope.spawn(move || handle.block_on(future)).join())
                .map_err(|_| Error::host("a storage call panicked"))
        }
        Ok(handle) => Ok(tokio::task::block_in_place(move || handle.block_on(future))),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|runtime| runtime.block_on(future))
            .map_err(|error| {
                Error::host(format!(
                    "cannot start a runtime for a storage call: {error}"
                ))
            }),
    }
}

/// Renders every string of a value, keeping the type of `{{ expr }}` templates (the inputs and
/// labels of triggers).
pub(crate) fn render_tree(
    expressions: &dyn Expressions,
    value: &Value,
    variables: &Value,
) -> Result<Value, String> {
    Ok(match value {
        Value::String(template) if is_expression(template) => {
            expressions.render(template, variables)?
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| render_tree(expressions, item, variables))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut rendered = Map::new();
            for (key, item) in map {
                rendered.insert(key.clone(), render_tree(expressions, item, variables)?);
            }
            Value::Object(rendered)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use peregrine_ports::kv::{KvPut, KvValue};
    use peregrine_ports::secrets::EnvSecrets;
    use serde_json::json;

    use super::*;

    fn services() -> TaskServices {
        TaskServices {
            // "czNjcjN0" is base64 for "s3cr3t".
            secrets: Arc::new(EnvSecrets::from_vars([("SECRET_API_TOKEN", "czNjcjN0")])),
            ..TaskServices::in_memory()
        }
    }

    fn variables() -> Value {
        json!({
            "flow": {"namespace": "company.team", "id": "my_flow"},
            "execution": {"id": "exec1"},
            "trigger": {"namespace": "company.team", "flowId": "parent", "executionId": "exec0"},
        })
    }

    fn render(expressions: &RuntimeExpressions, template: &str) -> Result<Value, String> {
        expressions.render(template, &variables())
    }

    async fn put(services: &TaskServices, path: &str, text: &str) {
        let path = StoragePath::new(path).expect("valid path");
        services
            .storage
            .put(&path, text.as_bytes().to_vec())
            .await
            .expect("put");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_the_io_functions_from_the_ports() {
        let services = services();
        let expressions = RuntimeExpressions::new(services.clone());
        let put_value = KvPut::new(KvValue::Json(json!({"a": [1, 2]})));
        services
            .kv
            .set("company.team", "config", put_value, Timestamp::now())
            .await
            .expect("set");
        put(
            &services,
            "/company/team/my-flow/executions/exec1/tasks/t/run1/out.txt",
            "from a task",
        )
        .await;
        put(
            &services,
            "/company/team/parent/executions/exec0/tasks/t/run0/in.txt",
            "from the parent",
        )
        .await;
        put(
            &services,
            "/company/team/other/executions/exec9/tasks/t/run9/no.txt",
            "someone else's",
        )
        .await;
        put(&services, "/company/team/_files/queries/q.sql", "select 1").await;
        put(&services, "/company/_files/shared.txt", "shared").await;

        assert_eq!(
            render(&expressions, "{{ secret('api_token') }}"),
            Ok(json!("s3cr3t"))
        );
        assert!(render(&expressions, "{{ secret('NOPE') }}").is_err());
        assert_eq!(
            render(&expressions, "{{ kv('config').a[1] }}"),
            Ok(json!(2))
        );
        assert_eq!(
            render(&expressions, "{{ kv('missing', errorOnMissing=false) }}"),
            Ok(Value::Null)
        );
        assert_eq!(render(&expressions, "{{ kv('missing') }}"), Ok(Value::Null));
        assert!(render(&expressions, "{{ kv('missing', errorOnMissing=true) }}").is_err());
        let task_file = "kestra:///company/team/my-flow/executions/exec1/tasks/t/run1/out.txt";
        assert_eq!(
            render(&expressions, &format!("{{{{ read('{task_file}') }}}}")),
            Ok(json!("from a task"))
        );
        assert_eq!(
            render(&expressions, &format!("{{{{ fileSize('{task_file}') }}}}")),
            Ok(json!(11))
        );
        let parent_file = "kestra:///company/team/parent/executions/exec0/tasks/t/run0/in.txt";
        assert_eq!(
            render(&expressions, &format!("{{{{ read('{parent_file}') }}}}")),
            Ok(json!("from the parent"))
        );
        let foreign = "kestra:///company/team/other/executions/exec9/tasks/t/run9/no.txt";
        assert!(render(&expressions, &format!("{{{{ read('{foreign}') }}}}")).is_err());
        assert!(render(&expressions, &format!("{{{{ fileSize('{foreign}') }}}}")).is_err());
        assert_eq!(
            render(&expressions, "{{ read('queries/q.sql') }}"),
            Ok(json!("select 1"))
        );
        assert_eq!(
            render(
                &expressions,
                "{{ read('/shared.txt', namespace='company') }}"
            ),
            Ok(json!("shared"))
        );
        assert!(render(&expressions, "{{ read('../../other/_files/x') }}").is_err());
        assert_eq!(
            render(&expressions, "{{ fileURI('/queries/q.sql') }}"),
            Ok(json!("kestra:///company/team/_files/queries/q.sql"))
        );
    }

    #[tokio::test]
    async fn works_on_a_current_thread_runtime() {
        let expressions = RuntimeExpressions::new(services());
        assert_eq!(
            render(&expressions, "{{ secret('API_TOKEN') }}"),
            Ok(json!("s3cr3t"))
        );
    }

    #[test]
    fn works_outside_any_runtime() {
        let expressions = RuntimeExpressions::new(services());
        assert_eq!(
            render(&expressions, "{{ kv('nothing', errorOnMissing=false) }}"),
            Ok(Value::Null)
        );
    }
}
