//! Ports: object-safe async traits (`Arc<dyn Port>`) through which roles reach the outside
//! world. Each method documents its contract; every backend passes the same conformance suite.

pub mod future;
pub mod kv;
pub mod lease;
pub mod memory;
pub mod partition;
pub mod queue;
pub mod repository;
pub mod retention;
pub mod secrets;
pub mod storage;
pub mod store;
pub mod triggers;
pub mod wakeups;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
