//! Docker: runs the commands in a container.

use peregrine_model::{Duration, Kind, PluginSpec, Property};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::docker::{CpuLimits, DeviceRequest, MemoryLimits, PullPolicy, RegistryCredentials};

/// How the working directory reaches the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum FileHandlingStrategy {
    Mount,
    Volume,
}

/// Runs the commands in a Docker container, with the task's `containerImage`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DockerRunnerSpec {
    /// The Docker host; the local daemon by default.
    pub host: Option<String>,
    /// A Docker `config.json`, as a mapping or a JSON string.
    pub config: Option<Value>,
    pub credentials: Option<RegistryCredentials>,
    /// Kept for older flows; the task's `containerImage` is used.
    pub image: Option<String>,
    pub user: Option<String>,
    /// The entry point; `[""]` (none) by default.
    pub entry_point: Option<Property<Vec<String>>>,
    pub extra_hosts: Option<Property<Vec<String>>>,
    pub network_mode: Option<String>,
    /// Published ports, as `host:container`.
    pub port_bindings: Option<Property<Vec<String>>>,
    /// Volume mounts, as `host_path:container_path`.
    pub volumes: Option<Property<Vec<String>>>,
    pub pull_policy: Option<Property<PullPolicy>>,
    pub device_requests: Option<Vec<DeviceRequest>>,
    pub cpu: Option<CpuLimits>,
    pub memory: Option<MemoryLimits>,
    /// The size of `/dev/shm`.
    pub shm_size: Option<String>,
    pub privileged: Option<Property<bool>>,
    /// VOLUME (the default) or MOUNT.
    pub file_handling_strategy: Option<Property<FileHandlingStrategy>>,
    /// Remove the container when done; true by default.
    pub delete: Option<Property<bool>>,
    /// Wait for the container to end; true by default.
    pub wait: Option<Property<bool>>,
    /// How long to wait after a kill signal before forcing it.
    pub kill_grace_period: Option<Duration>,
}

impl PluginSpec for DockerRunnerSpec {
    const KIND: Kind = Kind::TaskRunner;
    const TYPE: &'static str = "io.kestra.plugin.scripts.runner.docker.Docker";
}
