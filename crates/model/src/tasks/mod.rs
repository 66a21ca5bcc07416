//! Specs of the core control-flow tasks (`io.kestra.plugin.core.flow.*`), resolved by the executor.

mod branching;
mod dag;
mod each;
mod pause;
mod sequence;
mod subflow;
mod working_directory;

pub use branching::{IfSpec, SwitchSpec};
pub use dag::{DagSpec, DagTask};
pub use each::{EachParallelSpec, EachSequentialSpec, ForEachSpec};
pub use pause::{CheckFrequency, LoopUntilSpec, PauseSpec};
pub use sequence::{AllowFailureSpec, ParallelSpec, SequentialSpec, TemplateSpec};
pub use subflow::{ForEachItemBatch, ForEachItemSpec, SubflowSpec, for_each_item_steps};
pub use working_directory::{WorkingDirectoryCache, WorkingDirectorySpec};

use crate::registry::Registry;

/// Declares a core flowable task: its type name and legacy aliases.
macro_rules! flowable {
    ($spec:ty, $name:literal $(, $alias:literal)* $(; check = $check:path)?) => {
        impl $crate::registry::PluginSpec for $spec {
            const KIND: $crate::registry::Kind = $crate::registry::Kind::Task;
            const TYPE: &'static str = concat!("io.kestra.plugin.core.flow.", $name);
            const ALIASES: &'static [&'static str] = &[concat!("io.kestra.core.tasks.flows.", $name) $(, $alias)*];
            const ROLE: $crate::registry::Role = $crate::registry::Role::Flowable;
            $(
                fn check(context: &mut $crate::check::CheckContext<'_>) {
                    $check(context);
                }
            )?
        }
    };
}
pub(crate) use flowable;

/// Registers every core control-flow task.
pub fn register(registry: &mut Registry) {
    registry.register::<SequentialSpec>();
    registry.register::<ParallelSpec>();
    registry.register::<AllowFailureSpec>();
    registry.register::<TemplateSpec>();
    registry.register::<SwitchSpec>();
    registry.register::<IfSpec>();
    registry.register::<ForEachSpec>();
    registry.register::<EachSequentialSpec>();
    registry.register::<EachParallelSpec>();
    registry.register::<DagSpec>();
    registry.register::<SubflowSpec>();
    registry.register::<ForEachItemSpec>();
    registry.register::<PauseSpec>();
    registry.register::<LoopUntilSpec>();
    registry.register::<WorkingDirectorySpec>();
}
