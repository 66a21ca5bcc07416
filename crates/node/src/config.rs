//! The server configuration file: Kestra's keys where Kestra has them (`kestra.repository.type`,
//! `kestra.queue.type`, `kestra.storage.type`, `kestra.storage.local.base-path`,
//! `datasources.postgres|mysql.url|username|password`, `micronaut.server.port`), plus
//! `datasources.sqlite` for the embedded database. Every value
//! has a default, so an empty file runs the embedded setup. Keys Peregrine does not use are
//! reported, not refused (a Kestra file carries many); a bad value is an error naming the key
//! and its line. Environment variables set keys too, over the file (see [`env`]).

mod env;
mod server;

pub use server::{ConfigDuration, Liveness, ServerSection};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use peregrine_model::yaml::{Node, load_document};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}:{line}: {key}: {message}")]
    Value {
        path: PathBuf,
        line: u32,
        key: String,
        message: String,
    },
    #[error("environment variable {variable} ({key}): {message}")]
    Variable {
        variable: String,
        key: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerConfig {
    pub kestra: KestraConfig,
    pub datasources: Datasources,
    pub micronaut: Micronaut,
    #[serde(flatten)]
    pub ignored: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct KestraConfig {
    pub repository: Typed<RepositoryType>,
    pub queue: Typed<RepositoryType>,
    pub storage: StorageConfig,
    pub worker: WorkerConfig,
    pub executor: ExecutorConfig,
    pub retention: RetentionConfig,
    pub server: ServerSection,
    #[serde(flatten)]
    pub ignored: BTreeMap<String, Value>,
}

/// `kestra.executor`: how executors of their own (`peregrine server executor`) on one database
/// work together.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExecutorConfig {
    /// Executors share the load, each running some partitions of the executions; otherwise
    /// one runs them all and the others stand by.
    pub share_load: bool,
}

/// A section that only chooses a backend: `type: ...`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Typed<T: Default> {
    #[serde(rename = "type")]
    pub kind: T,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepositoryType {
    /// The embedded database (Kestra's `h2` is read as this).
    #[default]
    #[serde(alias = "h2")]
    Sqlite,
    /// Nothing kept when the server stops.
    Memory,
    /// A PostgreSQL server (`datasources.postgres`).
    #[serde(alias = "postgresql")]
    Postgres,
    /// A MySQL or MariaDB server (`datasources.mysql`).
    #[serde(alias = "mariadb")]
    Mysql,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct StorageConfig {
    #[serde(rename = "type")]
    pub kind: StorageType,
    pub local: LocalStorageConfig,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            kind: StorageType::Local,
            local: LocalStorageConfig::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    #[default]
    Local,
    Memory,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct LocalStorageConfig {
    pub base_path: PathBuf,
}

impl Default for LocalStorageConfig {
    fn default() -> Self {
        Self {
            base_path: PathBuf::from("data/storage"),
        }
    }
}

/// How long the server keeps what ended: older ended executions (with their log lines and
/// files) and older log lines are deleted every hour. On by default, so no table grows without
/// bound; `forever` keeps everything.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RetentionConfig {
    pub executions: Retention,
    pub logs: Retention,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            executions: Retention::Days(90),
            logs: Retention::Days(30),
        }
    }
}

/// A retention period: `90d`, `P90D`, `36h`, or `forever`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    Forever,
    Days(u32),
    Hours(u32),
}

impl Retention {
    /// The period, none for `forever`.
    pub fn period(self) -> Option<std::time::Duration> {
        const HOUR: u64 = 3600;
        match self {
            Retention::Forever => None,
            Retention::Days(days) => {
                Some(std::time::Duration::from_secs(u64::from(days) * 24 * HOUR))
            }
            Retention::Hours(hours) => {
                Some(std::time::Duration::from_secs(u64::from(hours) * HOUR))
            }
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("forever") {
            return Ok(Retention::Forever);
        }
        let upper = text.to_ascii_uppercase();
        let (number, unit) = if let Some(days) = upper.strip_prefix('P') {
            match days.strip_prefix('T') {
                Some(hours) => (hours.strip_suffix('H'), 'h'),
                None => (days.strip_suffix('D'), 'd'),
            }
        } else if let Some(days) = upper.strip_suffix('D') {
            (Some(days), 'd')
        } else {
            (upper.strip_suffix('H'), 'h')
        };
        let number = number
            .and_then(|number| number.parse::<u32>().ok())
            .filter(|number| *number > 0)
            .ok_or_else(|| {
                format!("'{text}' is not a retention: write 90d, P90D, 36h, PT36H or forever")
            })?;
        Ok(if unit == 'd' {
            Retention::Days(number)
        } else {
            Retention::Hours(number)
        })
    }
}

impl Serialize for Retention {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Retention::Forever => serializer.serialize_str("forever"),
            Retention::Days(days) => serializer.serialize_str(&format!("{days}d")),
            Retention::Hours(hours) => serializer.serialize_str(&format!("{hours}h")),
        }
    }
}

impl<'de> Deserialize<'de> for Retention {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Retention::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct WorkerConfig {
    /// Task runs running at once; 0 runs no worker in a standalone server (workers of their
    /// own, `peregrine server worker`, run the tasks).
    pub threads: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self { threads: 16 }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Datasources {
    pub sqlite: SqliteConfig,
    pub postgres: ServerDatasource,
    pub mysql: ServerDatasource,
}

/// A database server, as Kestra's `datasources.postgres` and `datasources.mysql` name it.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct ServerDatasource {
    /// `jdbc:postgresql://host:port/db` as Kestra writes it, or `postgres://...`,
    /// `mysql://...`.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Connections this process opens at most.
    #[serde(alias = "maximumPoolSize")]
    pub maximum_pool_size: u32,
    /// Kestra's JDBC driver class; not needed here.
    #[serde(alias = "driverClassName")]
    pub driver_class_name: Option<String>,
    /// Other connection-pool keys of Kestra's files (reported as unused).
    #[serde(flatten)]
    pub ignored: BTreeMap<String, Value>,
}

impl Default for ServerDatasource {
    fn default() -> Self {
        Self {
            url: String::new(),
            username: None,
            password: None,
            maximum_pool_size: 16,
            driver_class_name: None,
            ignored: BTreeMap::new(),
        }
    }
}

impl ServerDatasource {
    /// The URL to connect with: Kestra's `jdbc:` prefix removed, the scheme the driver expects
    /// (`postgres://`, `mysql://`), `username` and `password` put in when the URL has none.
    pub fn connection_url(&self, key: &str) -> Result<String, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid(format!("{key}.url: {message}"));
        let url = self.url.trim();
        if url.is_empty() {
            return Err(invalid("the database URL is required".into()));
        }
        let url = url.strip_prefix("jdbc:").unwrap_or(url);
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(invalid(format!(
                "'{url}' is not a URL (scheme://host/database)"
            )));
        };
        let scheme = match scheme {
            "postgresql" | "postgres" => "postgres",
            "mysql" | "mariadb" => "mysql",
            other => return Err(invalid(format!("unknown database scheme '{other}'"))),
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if rest[..authority_end].contains('@') || self.username.is_none() {
            return Ok(format!("{scheme}://{rest}"));
        }
        let encode = |text: &str| {
            percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        };
        let mut user = encode(self.username.as_deref().unwrap_or_default());
        if let Some(password) = &self.password {
            user.push(':');
            user.push_str(&encode(password));
        }
        Ok(format!("{scheme}://{user}@{rest}"))
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SqliteConfig {
    pub path: PathBuf,
    /// `process` (survives kill -9) or `machine` (survives a power loss; slower).
    pub durability: Durability,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("data/peregrine.db"),
            durability: Durability::Process,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    #[default]
    Process,
    Machine,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Micronaut {
    pub server: MicronautServer,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MicronautServer {
    pub port: u16,
}

impl Default for MicronautServer {
    fn default() -> Self {
        Self { port: 8080 }
    }
}

impl ServerConfig {
    /// Reads a configuration file, with the keys this process's environment variables set.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_with(path, &source, std::env::vars())
    }

    /// The keys this process's environment variables set, defaults for the others.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::parse_with(Path::new("(environment)"), "", std::env::vars())
    }

    /// Reads a configuration from its text; `path` names it in errors.
    pub fn parse(path: &Path, source: &str) -> Result<Self, ConfigError> {
        Self::parse_with(path, source, std::iter::empty())
    }

    /// Reads a configuration from its text and the keys `variables` set over it.
    pub fn parse_with(
        path: &Path,
        source: &str,
        variables: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let document = load_document(source).map_err(|error| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        let mut json = match document.root.to_json() {
            Value::Null => Value::Object(Default::default()),
            other => other,
        };
        let defaults = serde_json::to_value(Self::default())
            .map_err(|error| ConfigError::Invalid(format!("the default configuration: {error}")))?;
        let overrides = env::overrides(&defaults, variables);
        env::apply(&mut json, &overrides);
        let config: Self = serde_path_to_error::deserialize(json).map_err(|error| {
            let key = error.path().to_string();
            let message = error.into_inner().to_string();
            match overrides.iter().find(|found| found.key == key) {
                Some(found) => ConfigError::Variable {
                    variable: found.variable.clone(),
                    key,
                    message,
                },
                None => ConfigError::Value {
                    path: path.to_path_buf(),
                    line: line_of(&document.root, &key),
                    message,
                    key,
                },
            }
        })?;
        if config.kestra.queue.kind != config.kestra.repository.kind {
            return Err(ConfigError::Invalid(format!(
                "{}: kestra.queue.type ({:?}) must be the same as kestra.repository.type ({:?}) \
                 in one process",
                path.display(),
                config.kestra.queue.kind,
                config.kestra.repository.kind
            )));
        }
        Ok(config)
    }

    /// Keys present in the file that Peregrine does not use (`kestra.url`, ...).
    pub fn ignored_keys(&self) -> Vec<String> {
        let root = self.ignored.keys().cloned();
        let kestra = self
            .kestra
            .ignored
            .keys()
            .map(|key| format!("kestra.{key}"));
        let postgres = self.datasources.postgres.ignored.keys();
        let postgres = postgres.map(|key| format!("datasources.postgres.{key}"));
        let mysql = self.datasources.mysql.ignored.keys();
        let mysql = mysql.map(|key| format!("datasources.mysql.{key}"));
        let server = self.kestra.server.ignored.keys();
        let server = server.map(|key| format!("kestra.server.{key}"));
        root.chain(kestra)
            .chain(server)
            .chain(postgres)
            .chain(mysql)
            .collect()
    }
}

/// The line of the deepest key of a dotted path that the document holds.
fn line_of(root: &Node, key: &str) -> u32 {
    let mut node = root;
    let mut line = root.span.start.line;
    for segment in key.split('.') {
        let Some(entry) = node.entry(segment) else {
            break;
        };
        line = entry.key_span.start.line;
        node = &entry.value;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(source: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::parse(Path::new("server.yml"), source)
    }

    #[test]
    fn an_empty_file_runs_the_embedded_setup() {
        let config = parse("").expect("valid");
        assert_eq!(config.kestra.repository.kind, RepositoryType::Sqlite);
        assert_eq!(config.kestra.storage.kind, StorageType::Local);
        assert_eq!(
            config.datasources.sqlite.path,
            PathBuf::from("data/peregrine.db")
        );
        assert_eq!(config.micronaut.server.port, 8080);
    }

    #[test]
    fn kestra_keys_are_read_and_unused_ones_reported() {
        let config = parse(
            "kestra:\n  url: http://x\n  repository:\n    type: h2\n  queue:\n    type: h2\n  storage:\n    type: local\n    local:\n      base-path: /tmp/s\nmicronaut:\n  server:\n    port: 9000\n",
        )
        .expect("valid");
        assert_eq!(config.kestra.repository.kind, RepositoryType::Sqlite);
        assert_eq!(
            config.kestra.storage.local.base_path,
            PathBuf::from("/tmp/s")
        );
        assert_eq!(config.micronaut.server.port, 9000);
        assert_eq!(config.ignored_keys(), vec!["kestra.url"]);
    }

    #[test]
    fn a_bad_value_names_the_key_and_its_line() {
        let error = parse("kestra:\n  storage:\n    type: s3\n").expect_err("refused");
        let text = error.to_string();
        assert!(
            text.starts_with("server.yml:3: kestra.storage.type: unknown variant `s3`"),
            "{text}"
        );
        let error =
            parse("datasources:\n  sqlite:\n    path: a\n    pool: 3\n").expect_err("refused");
        assert!(error.to_string().contains("datasources.sqlite"), "{error}");
    }

    #[test]
    fn kestra_datasources_give_the_connection_url() {
        let config = parse(concat!(
            "kestra:\n  repository:\n    type: postgres\n  queue:\n    type: postgres\n",
            "datasources:\n  postgres:\n    url: jdbc:postgresql://127.0.0.1:5432/kestra\n",
            "    driverClassName: org.postgresql.Driver\n    username: kestra\n",
            "    password: k3str@4\n    maximum-pool-size: 8\n    connection-timeout: 5000\n",
        ))
        .expect("valid");
        assert_eq!(config.kestra.repository.kind, RepositoryType::Postgres);
        let postgres = &config.datasources.postgres;
        assert_eq!(postgres.maximum_pool_size, 8);
        assert_eq!(
            postgres.connection_url("datasources.postgres").ok(),
            Some("postgres://kestra:k3str%404@127.0.0.1:5432/kestra".to_string())
        );
        assert_eq!(
            config.ignored_keys(),
            vec!["datasources.postgres.connection-timeout"]
        );
        let mysql = ServerDatasource {
            url: "mysql://me:pw@db:3306/kestra?x=1".into(),
            username: Some("other".into()),
            ..ServerDatasource::default()
        };
        assert_eq!(
            mysql.connection_url("m").ok(),
            Some("mysql://me:pw@db:3306/kestra?x=1".to_string())
        );
        let missing = ServerDatasource::default().connection_url("datasources.mysql");
        assert!(missing.is_err_and(|error| error.to_string().starts_with("datasources.mysql.url")),);
        let odd = ServerDatasource {
            url: "jdbc:oracle://x/y".into(),
            ..ServerDatasource::default()
        };
        assert!(odd.connection_url("d").is_err());
    }

    #[test]
    fn environment_variables_set_keys_over_the_file() {
        let variables = [
            ("KESTRA_REPOSITORY_TYPE", "postgres"),
            ("KESTRA_QUEUE_TYPE", "postgres"),
            ("DATASOURCES_POSTGRES_URL", "jdbc:postgresql://db/k"),
            ("MICRONAUT_SERVER_PORT", "9001"),
        ]
        .map(|(name, value)| (name.to_string(), value.to_string()));
        let file = "micronaut:\n  server:\n    port: 9000\n";
        let config = ServerConfig::parse_with(Path::new("s.yml"), file, variables).expect("valid");
        assert_eq!(config.kestra.repository.kind, RepositoryType::Postgres);
        assert_eq!(config.datasources.postgres.url, "jdbc:postgresql://db/k");
        assert_eq!(config.micronaut.server.port, 9001);

        let bad = [("KESTRA_STORAGE_TYPE".to_string(), "s3".to_string())];
        let error = ServerConfig::parse_with(Path::new("s.yml"), "", bad).expect_err("refused");
        assert!(
            error
                .to_string()
                .starts_with("environment variable KESTRA_STORAGE_TYPE (kestra.storage.type): unknown variant `s3`"),
            "{error}"
        );
    }

    #[test]
    fn retention_is_on_by_default_and_reads_periods() {
        let config = parse("").expect("valid");
        assert_eq!(config.kestra.retention.executions, Retention::Days(90));
        assert_eq!(config.kestra.retention.logs, Retention::Days(30));
        let config = parse("kestra:\n  retention:\n    executions: forever\n    logs: PT36H\n")
            .expect("valid");
        assert_eq!(config.kestra.retention.executions.period(), None);
        assert_eq!(
            config.kestra.retention.logs.period(),
            Some(std::time::Duration::from_secs(36 * 3600))
        );
        let error = parse("kestra:\n  retention:\n    logs: soon\n").expect_err("refused");
        assert!(
            error
                .to_string()
                .starts_with("server.yml:3: kestra.retention.logs: 'soon' is not a retention"),
            "{error}"
        );
        for (text, expected) in [
            ("7d", Retention::Days(7)),
            ("P7D", Retention::Days(7)),
            ("12h", Retention::Hours(12)),
        ] {
            assert_eq!(Retention::parse(text), Ok(expected));
        }
    }

    #[test]
    fn queue_and_repository_must_match() {
        let error = parse("kestra:\n  queue:\n    type: memory\n").expect_err("refused");
        assert!(error.to_string().contains("kestra.queue.type"), "{error}");
    }
}
