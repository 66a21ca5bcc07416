//! Kestra's core runnable tasks (`io.kestra.plugin.core.*`, legacy `io.kestra.core.tasks.*`).
//!
//! One folder per Kestra package, one file per task type. [`register`] adds them all to a
//! catalogue. Properties follow Kestra's own classes, as of 0.21 up to 1.1: a property any of
//! those versions accepts is declared, so flows written for either validate.

mod dates;
pub mod debug;
pub mod execution;
pub mod flow;
pub mod http;
pub mod kv;
pub mod log;
pub mod metric;
pub mod namespace;
pub mod output;
pub mod state;
pub mod storage;
pub mod templating;
pub mod trigger;

use peregrine_model::Registry;

/// Declares a core runnable task: its type name under `io.kestra.plugin.core.` and its aliases.
macro_rules! runnable {
    ($spec:ty, $name:literal $(, $alias:literal)*) => {
        impl peregrine_model::PluginSpec for $spec {
            const KIND: peregrine_model::Kind = peregrine_model::Kind::Task;
            const TYPE: &'static str = concat!("io.kestra.plugin.core.", $name);
            const ALIASES: &'static [&'static str] = &[$($alias),*];
            const ROLE: peregrine_model::Role = peregrine_model::Role::Runnable;
        }
    };
}
pub(crate) use runnable;

/// Adds the implementations of the core tasks this build can run.
pub fn runners(runners: &mut peregrine_plugin_api::Runners) {
    use peregrine_model::PluginSpec;
    use peregrine_plugin_api::from_spec;
    runners.add(log::LogSpec::TYPE, from_spec::<log::LogSpec>);
    runners.add(log::FetchSpec::TYPE, from_spec::<log::FetchSpec>);
    runners.add(debug::EchoSpec::TYPE, from_spec::<debug::EchoSpec>);
    runners.add(debug::ReturnSpec::TYPE, from_spec::<debug::ReturnSpec>);
    runners.add(
        storage::LocalFilesSpec::TYPE,
        from_spec::<storage::LocalFilesSpec>,
    );
    runners.add(
        output::OutputValuesSpec::TYPE,
        from_spec::<output::OutputValuesSpec>,
    );
    runners.add(execution::FailSpec::TYPE, from_spec::<execution::FailSpec>);
    runners.add(flow::SleepSpec::TYPE, from_spec::<flow::SleepSpec>);
    flow::runners(runners);
    trigger::runners(runners);
    runners.add(kv::KvSetSpec::TYPE, from_spec::<kv::KvSetSpec>);
    runners.add(kv::KvGetSpec::TYPE, from_spec::<kv::KvGetSpec>);
    runners.add(kv::KvGetKeysSpec::TYPE, from_spec::<kv::KvGetKeysSpec>);
    runners.add(kv::KvDeleteSpec::TYPE, from_spec::<kv::KvDeleteSpec>);
    runners.add(storage::WriteSpec::TYPE, from_spec::<storage::WriteSpec>);
    runners.add(
        storage::StorageDeleteSpec::TYPE,
        from_spec::<storage::StorageDeleteSpec>,
    );
    runners.add(storage::SizeSpec::TYPE, from_spec::<storage::SizeSpec>);
    runners.add(storage::ConcatSpec::TYPE, from_spec::<storage::ConcatSpec>);
    runners.add(storage::SplitSpec::TYPE, from_spec::<storage::SplitSpec>);
    runners.add(state::StateSetSpec::TYPE, from_spec::<state::StateSetSpec>);
    runners.add(state::StateGetSpec::TYPE, from_spec::<state::StateGetSpec>);
    runners.add(
        state::StateDeleteSpec::TYPE,
        from_spec::<state::StateDeleteSpec>,
    );
    runners.add(http::RequestSpec::TYPE, from_spec::<http::RequestSpec>);
    runners.add(http::DownloadSpec::TYPE, from_spec::<http::DownloadSpec>);
    runners.add(
        templating::TemplatedTaskSpec::TYPE,
        from_spec::<templating::TemplatedTaskSpec>,
    );
    runners.add(
        execution::CountSpec::TYPE,
        from_spec::<execution::CountSpec>,
    );
    runners.add(
        execution::PurgeExecutionsSpec::TYPE,
        from_spec::<execution::PurgeExecutionsSpec>,
    );
    runners.add(log::PurgeLogsSpec::TYPE, from_spec::<log::PurgeLogsSpec>);
    runners.add(
        execution::ResumeSpec::TYPE,
        from_spec::<execution::ResumeSpec>,
    );
}

/// Adds every core runnable task (and the HTTP polling trigger) to the catalogue.
pub fn register(registry: &mut Registry) {
    log::register(registry);
    debug::register(registry);
    execution::register(registry);
    flow::register(registry);
    http::register(registry);
    kv::register(registry);
    metric::register(registry);
    namespace::register(registry);
    output::register(registry);
    state::register(registry);
    storage::register(registry);
    templating::register(registry);
    trigger::register(registry);
}
