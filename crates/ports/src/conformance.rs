//! Conformance suites: one async function per contract of a port, run against every backend.
//!
//! A backend crate runs a whole suite with one macro line in a test file, which generates one
//! `#[tokio::test]` per contract (the crate needs `tokio` with `macros` and `rt` as a
//! dev-dependency):
//!
//! ```ignore
//! peregrine_ports::storage_conformance_tests!(Arc::new(MyStorage::new()));
//! ```
//!
//! The expression is evaluated once per test and must dereference to the backend (an `Arc`, a
//! `Box`, or a fixture type implementing `Deref` that also cleans up after itself).

pub mod flows;
pub mod kv;
pub mod lease;
pub mod queue;
pub mod secrets;
pub mod storage;
pub mod store;
pub mod triggers;

/// One `#[tokio::test]` per contract of `flows`.
#[macro_export]
macro_rules! flows_conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(flows, $make;
            revisions_grow_only_when_the_source_changes,
            get_returns_the_latest_or_the_asked_revision,
            delete_hides_the_flow_and_a_new_save_continues_the_revisions,
            list_filters_by_namespace_tree_and_text_sorted,
            heads_tell_the_latest_revision_of_every_flow_not_deleted,
        );
    };
}

/// One `#[tokio::test]` per contract of `store` (the executor's store, with the execution and
/// log repositories of the same backend).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(store, $make;
            a_commit_is_read_back_whole,
            later_commits_change_only_what_they_carry,
            unfinished_lists_only_executions_not_terminated,
            unfinished_and_outbox_are_read_by_partition,
            outbox_rows_live_until_done,
            search_filters_pages_and_sorts_newest_first,
            delete_removes_the_execution_and_its_outbox,
            logs_come_back_in_order_and_filtered,
            log_search_filters_pages_and_sorts_newest_first,
            purge_removes_only_ended_executions_in_the_window,
            log_purge_filters_by_query_and_level,
        );
    };
}

/// One `#[tokio::test]` per contract of `queue` (the outbox as a queue between processes); the
/// backend is also the executor's store that writes the outbox.
#[macro_export]
macro_rules! queue_conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(queue, $make;
            claim_hands_each_row_to_one_worker,
            an_expired_lease_is_claimed_again_with_claims_counted,
            renew_keeps_rows_and_drops_consumed_ones,
            putting_a_row_again_clears_its_claim,
            release_hands_rows_back,
            kill_marks_rows_and_claims_see_it,
            rows_lists_by_prefix_oldest_first,
            rows_are_read_by_partition,
            wait_returns_on_put_and_keeps_a_missed_notification,
        );
    };
}

/// One `#[tokio::test]` per contract of `lease` (the executor's lease, the leases of partitions
/// and fenced commits).
#[macro_export]
macro_rules! lease_conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(lease, $make;
            only_one_owner_holds_the_lease,
            an_expired_lease_goes_to_the_next_owner_with_a_higher_epoch,
            a_released_lease_is_free_at_once,
            commits_of_a_replaced_holder_are_refused,
            members_are_the_executors_that_live,
            a_partition_has_one_holder_and_goes_on_after_expiry_with_a_higher_epoch,
            commits_touching_partitions_not_held_are_refused,
        );
    };
}

/// One `#[tokio::test]` per contract of `triggers` (the scheduler's trigger states).
#[macro_export]
macro_rules! triggers_conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(triggers, $make;
            a_new_state_is_read_back_whole,
            creating_refuses_a_state_already_stored,
            a_write_needs_the_revision_it_read,
            racing_writers_of_one_revision_have_one_winner,
            list_filters_by_namespace_tree_and_flow_sorted,
            delete_removes_only_that_state,
            update_reads_again_after_losing_a_race,
        );
    };
}

/// One `#[tokio::test]` per contract of `storage`.
#[macro_export]
macro_rules! storage_conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(storage, $make;
            put_then_get_returns_the_bytes,
            put_replaces_the_previous_content,
            missing_file_is_not_found,
            exists_and_size_follow_puts_and_deletes,
            delete_reports_whether_a_file_existed,
            list_returns_every_file_below_the_prefix_sorted,
            delete_prefix_removes_only_files_below_the_prefix,
            unusual_file_names_round_trip,
        );
    };
}

/// One `#[tokio::test]` per contract of `kv`.
#[macro_export]
macro_rules! kv_conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(kv, $make;
            set_then_get_returns_the_typed_value,
            missing_key_is_none,
            replacing_keeps_creation_date_and_description_follows,
            overwrite_false_refuses_a_live_key_only,
            expired_keys_are_absent,
            delete_reports_whether_a_key_existed,
            list_filters_by_prefix_and_sorts,
            namespaces_are_isolated,
            invalid_keys_are_refused,
        );
    };
}

/// One `#[tokio::test]` per contract of `secrets`; the backend must hold exactly
/// [`secrets::FIXTURE`].
#[macro_export]
macro_rules! secrets_conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(secrets, $make;
            known_secrets_are_returned,
            keys_are_case_insensitive,
            unknown_secret_is_none,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! conformance_tests {
    ($suite:ident, $make:expr; $($contract:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $contract() {
                let fixture = $make;
                $crate::conformance::$suite::$contract(&*fixture).await;
            }
        )*
    };
}
