//! Flow-wide rules that need more than one object at a time (ids, labels, enterprise features).

mod ids;
mod labels;
mod worker_group;

use crate::diagnostic::Diagnostics;
use crate::schema::Site;
use crate::yaml::Node;

/// Runs every flow-wide rule.
pub(crate) fn check(root: &Node, sites: &[Site], diagnostics: &mut Diagnostics) {
    ids::check(root, sites, diagnostics);
    labels::check(root, diagnostics);
    worker_group::check(root, sites, diagnostics);
}
