//! Network path analysis from Reader data: effective outbound NSG verdicts, effective routes and
//! service tags (this module's pure parts), and the per-VM facts built from them
//! (`resolve::network`).

pub mod ip;
pub mod nsg;
pub mod routes;
pub mod tags;
