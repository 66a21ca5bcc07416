//! Container settings shared by the Docker task runner and the deprecated `docker` /
//! `dockerOptions` properties of script tasks.

use std::collections::BTreeMap;

use peregrine_model::Property;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// When to pull the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PullPolicy {
    IfNotPresent,
    Always,
    Never,
}

/// Credentials for a private container registry.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryCredentials {
    /// The registry host; Docker Hub by default.
    pub registry: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub registry_token: Option<String>,
    pub identity_token: Option<String>,
    /// A base64 `username:password`.
    pub auth: Option<String>,
}

/// A request for devices (e.g. GPUs) given to the container.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceRequest {
    pub driver: Option<String>,
    /// How many devices; -1 for all.
    pub count: Option<Property<i32>>,
    pub device_ids: Option<Property<Vec<String>>>,
    /// A list of capability sets, e.g. `[[gpu]]`.
    pub capabilities: Option<Property<Vec<Vec<String>>>>,
    pub options: Option<Property<BTreeMap<String, String>>>,
}

/// CPU limits of the container.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuLimits {
    /// How many CPUs the container may use, e.g. 1.5.
    pub cpus: Option<Property<f64>>,
}

/// Memory limits of the container, as Docker sizes ("512m", "2g").
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemoryLimits {
    pub memory: Option<String>,
    pub memory_swap: Option<String>,
    pub memory_swappiness: Option<String>,
    pub memory_reservation: Option<String>,
    pub kernel_memory: Option<String>,
    pub oom_kill_disable: Option<Property<bool>>,
}

/// Deprecated container settings of a script task (use `taskRunner` with the Docker runner).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DockerOptions {
    /// The Docker host; the local daemon by default.
    pub host: Option<String>,
    /// A Docker `config.json`, as a mapping or a JSON string.
    pub config: Option<Value>,
    pub credentials: Option<RegistryCredentials>,
    /// The image to run the script in.
    #[schemars(length(min = 1))]
    pub image: String,
    pub user: Option<String>,
    pub entry_point: Option<Property<Vec<String>>>,
    pub extra_hosts: Option<Property<Vec<String>>>,
    pub network_mode: Option<String>,
    /// Volume mounts, as `host_path:container_path`.
    pub volumes: Option<Property<Vec<String>>>,
    pub pull_policy: Option<Property<PullPolicy>>,
    pub device_requests: Option<Vec<DeviceRequest>>,
    pub cpu: Option<CpuLimits>,
    pub memory: Option<MemoryLimits>,
    /// The size of `/dev/shm`.
    pub shm_size: Option<String>,
    pub privileged: Option<Property<bool>>,
}
