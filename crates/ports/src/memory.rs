//! In-memory backends: the reference implementations every conformance suite runs first, and
//! the state of throw-away runs (`peregrine flow test`) and of tests in every crate above.
//!
//! They live in the ports crate because they need nothing but the standard library, so any crate
//! that sees a port can also build its in-memory form without a new dependency edge.

mod executions;
mod flows;
mod outbox;
mod storage;
mod triggers;

pub use executions::MemoryExecutions;
pub use flows::MemoryFlows;
pub use storage::MemoryStorage;
pub use triggers::MemoryTriggers;

use std::sync::Arc;

use crate::kv::StorageKv;

/// A key-value store kept in a fresh in-memory storage.
pub fn kv_store() -> StorageKv {
    StorageKv::new(Arc::new(MemoryStorage::new()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::storage::{Error, Storage, StoragePath};

    mod storage_conformance {
        crate::storage_conformance_tests!(std::sync::Arc::new(super::MemoryStorage::new()));
    }

    mod flows_conformance {
        crate::flows_conformance_tests!(Box::new(super::MemoryFlows::new()));
    }

    mod store_conformance {
        crate::store_conformance_tests!(Box::new(super::MemoryExecutions::new()));
    }

    mod queue_conformance {
        crate::queue_conformance_tests!(Box::new(super::MemoryExecutions::new()));
    }

    mod triggers_conformance {
        crate::triggers_conformance_tests!(Box::new(super::MemoryTriggers::new()));
    }

    mod kv_conformance {
        crate::kv_conformance_tests!(Box::new(super::kv_store()));
    }

    #[tokio::test]
    async fn refuses_objects_over_its_limit() {
        let storage = Arc::new(MemoryStorage::with_max_object_bytes(4));
        let path = StoragePath::new("/big").expect("valid");
        assert_eq!(
            storage.put(&path, vec![0; 5]).await,
            Err(Error::TooLarge {
                uri: "kestra:///big".into(),
                size: 5,
                limit: 4
            })
        );
        storage.put(&path, vec![0; 4]).await.expect("at the limit");
    }
}
