//! Worker groups are an enterprise feature in Kestra; flows that use them are refused, as Kestra's
//! open-source edition does, rather than silently run anywhere.

use crate::diagnostic::{Code, Diagnostics};
use crate::registry::Kind;
use crate::schema::Site;
use crate::yaml::Node;

pub(super) fn check(root: &Node, sites: &[Site], diagnostics: &mut Diagnostics) {
    for site in sites
        .iter()
        .filter(|site| matches!(site.kind, Kind::Task | Kind::Trigger))
    {
        let Some(node) = find(root, site) else {
            continue;
        };
        if let Some(entry) = node.entry("workerGroup") {
            diagnostics.push(
                Code::Unsupported,
                entry.key_span.start,
                &site.path.key("workerGroup"),
                "Worker Group is an Enterprise Edition functionality",
            );
        }
    }
}

/// The node at a site's path.
fn find<'a>(root: &'a Node, site: &Site) -> Option<&'a Node> {
    let mut node = root;
    for segment in site.path.segments() {
        node = match segment {
            crate::path::Segment::Key(key) => node.get(key)?,
            crate::path::Segment::Index(index) => node.as_seq()?.get(*index)?,
        };
    }
    Some(node)
}
