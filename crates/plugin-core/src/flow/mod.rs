//! `io.kestra.plugin.core.flow`: the runnable tasks of that package: Sleep, and the worker steps
//! of ForEachItem (split, merge) the engine adds to each ForEachItem. The flowable tasks of the
//! package live in the model crate.

mod for_each_item_merge;
mod for_each_item_split;
mod sleep;

pub use for_each_item_merge::ForEachItemMergeSpec;
pub use for_each_item_split::ForEachItemSplitSpec;
pub use sleep::SleepSpec;

use peregrine_model::PluginSpec;
use peregrine_model::Registry;
use peregrine_plugin_api::{Runners, from_spec};

pub fn register(registry: &mut Registry) {
    registry.register::<SleepSpec>();
}

/// The worker steps of ForEachItem. They are not in the catalogue: flows cannot name them.
pub fn runners(runners: &mut Runners) {
    runners.add(
        ForEachItemSplitSpec::TYPE,
        from_spec::<ForEachItemSplitSpec>,
    );
    runners.add(
        ForEachItemMergeSpec::TYPE,
        from_spec::<ForEachItemMergeSpec>,
    );
}
