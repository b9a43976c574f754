//! `facts`: the facts rules see for each VM (or the named ones), with the reasons facts are
//! unknown: what a rule author needs to write or debug a condition.

use crate::codes::CodeBook;
use crate::error::Error;
use crate::resolve::facts::VmFacts;
use crate::resolve::{self, Index, Options};
use crate::source;
use std::path::PathBuf;

pub struct FactsOptions {
    /// Snapshot layers, later ones laid over earlier ones.
    pub snapshot: Vec<PathBuf>,
    /// Only these VMs (name or id); empty: every VM.
    pub vms: Vec<String>,
    pub backup_service_object_id: Option<String>,
}

pub fn facts(options: &FactsOptions) -> Result<Vec<VmFacts>, Error> {
    let codes = CodeBook::builtin()?;
    let inventory = source::snapshot::load_layers(&options.snapshot)?;
    let resolve_options = Options {
        backup_service_object_id: options.backup_service_object_id.clone(),
        ..Options::default()
    };
    let index = Index::new(&inventory, &codes, &resolve_options);
    let wanted = |name: &str, id: &str| {
        options.vms.is_empty()
            || options
                .vms
                .iter()
                .any(|w| w.eq_ignore_ascii_case(name) || w.eq_ignore_ascii_case(id))
    };
    let facts: Vec<VmFacts> = inventory
        .vms
        .values()
        .filter(|vm| wanted(&vm.name, &vm.id))
        .map(|vm| resolve::resolve_vm(&index, vm))
        .collect();
    if facts.is_empty() && !options.vms.is_empty() {
        return Err(Error::usage(
            "--vm",
            format!("no VM named {} in the snapshot", options.vms.join(", ")),
            "give a VM name or id that `backup-doctor scan` lists",
        ));
    }
    Ok(facts)
}
