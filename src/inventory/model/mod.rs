//! Typed views of the ARM resources backup-doctor reads, one file per resource family. Only the
//! fields the facts need are declared; everything is optional because ARM omits absent values, and
//! an absent value must become an `unknown` fact rather than a load error (serde reads a missing
//! `Option` as `None`; other fields that may be absent say `#[serde(default)]`). A present value
//! of the wrong JSON type is a load error (see `source::snapshot`).

mod authorization;
mod backup;
mod compute;
mod keyvault;
mod network;
mod tenant;

pub use authorization::*;
pub use backup::*;
pub use compute::*;
pub use keyvault::*;
pub use network::*;
pub use tenant::*;

pub use super::types::{
    POLICY_ASSIGNMENTS, POLICY_DEFINITIONS, POLICY_EXEMPTIONS, POLICY_SET_DEFINITIONS,
    RESOURCE_CONTAINERS,
};

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdRef {
    pub id: Option<String>,
}

/// An ARM resource of which only the id, the name and the properties are read. Resources are
/// decoded from JSON objects only, so serde's "expected struct ..." never names this wrapper in
/// a message; a subnet, which can stand as an element of its virtual network, keeps its own struct.
#[derive(Debug, Clone, Deserialize)]
pub struct Arm<P> {
    pub id: String,
    pub name: Option<String>,
    #[serde(default)]
    pub properties: P,
}
