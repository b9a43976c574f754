//! backup-doctor: says, for every Azure VM, whether Azure Backup will work for it, and if not,
//! which layer of the backup pipeline breaks it, the documented error code it produces and the
//! fix, in pipeline order. See DESIGN.md for the architecture and the contracts.

pub mod allocator;
pub mod check;
pub mod codes;
pub mod engine;
pub mod error;
pub mod gate;
pub mod inventory;
pub mod live;
pub mod network;
pub mod parallel;
pub mod report;
pub mod resolve;
pub mod source;
pub mod store;
pub mod suppress;

use codes::CodeBook;
use engine::{evaluate_vm, Engine};
use inventory::Inventory;
use report::Report;
use resolve::{Index, Options};

/// Resolves and evaluates every VM of `inventory` and builds the report.
pub fn scan(inventory: &Inventory, engine: &Engine, codes: &CodeBook, options: &Options) -> Report {
    let index = Index::new(inventory, codes, options);
    let vms: Vec<_> = inventory.vms.values().collect();
    let evaluations = parallel::map(&vms, |vm| {
        evaluate_vm(engine, resolve::resolve_vm(&index, vm))
    });
    Report::build(
        evaluations,
        inventory.gaps().to_vec(),
        codes,
        inventory.manifest.as_ref().and_then(|m| m.created.clone()),
        inventory.warnings.clone(),
    )
}
