//! The normalized, SDK-free model of everything read from Azure. Sources (snapshot files, the
//! live collector's snapshots, plan overlays) fill it; `resolve` reads it. Every map is keyed by
//! [`id::key`], so joins are case-insensitive. The kinds it holds, and the [`Inventory`] struct
//! itself, are declared once in [`registry`].

pub mod id;
pub mod model;
pub mod reading;
pub mod references;
pub mod registry;
pub mod types;

use model::Gap;

pub use id::{key, ArmId};
pub use registry::{Inventory, Kind, Listing, ResourceType, RESOURCE_TYPES};

impl Inventory {
    /// The gaps the source recorded: what could not be read, by scope and resource type.
    pub fn gaps(&self) -> &[Gap] {
        self.manifest
            .as_ref()
            .map(|m| m.gaps.as_slice())
            .unwrap_or(&[])
    }

    /// The gap, if any, that hides resources of `what` (an ARM type) for `scope` or anything
    /// above it.
    pub fn gap_for(&self, scope: &str, what: &str) -> Option<&Gap> {
        self.gaps().iter().find(|gap| {
            gap.what.eq_ignore_ascii_case(what)
                && (id::is_within(scope, &gap.scope) || id::is_within(&gap.scope, scope))
        })
    }

    pub fn vm_count(&self) -> usize {
        self.vms.len()
    }
}
