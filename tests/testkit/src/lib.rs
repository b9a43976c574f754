//! backup-doctor's test and benchmark tooling, kept out of the product: the ARM emulator (and its
//! `arm-emulator` binary), the synthetic fleet generator, and the plumbing the integration tests
//! and benchmarks share (running the binary, pointing it at the emulator, reading its JSON).
//!
//! It does not depend on the backup-doctor library: nothing here needs its types, and the
//! library's own unit tests could not use a crate that links a second copy of it.

pub mod arm_actions;
pub mod bench;
pub mod binary;
pub mod browser;
pub mod emulator;
pub mod fixtures;
pub mod json;
pub mod live;
pub mod logs_ingestion;
pub mod loopback;
pub mod postgres;
pub mod schema;
pub mod snapshot_edit;
pub mod synth;
pub mod tokens;
