//! Where inventories come from. Only the snapshot loader exists offline; the live collector
//! writes snapshots, so both paths share it.

pub mod change;
pub mod overlay;
pub mod snapshot;
pub mod terraform;
pub mod text;
pub mod whatif;
