//! backup-doctor: says, for every Azure VM, whether Azure Backup will work for it, and if not,
//! which layer of the backup pipeline breaks it, the documented error code it produces and the
//! fix, in pipeline order. See docs/architecture.md for the code map and docs/ for the contracts.

pub mod allocator;
pub mod auth;
pub mod codes;
pub mod commands;
pub mod engine;
pub mod error;
pub mod export;
pub mod inventory;
pub mod live;
pub mod network;
pub mod outcome;
pub mod parallel;
pub mod render;
pub mod resolve;
pub mod serve;
pub mod source;
pub mod store;
pub mod suppress;
