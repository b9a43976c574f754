//! Outbound verdicts for the VM, and the deciding rules they name.

use crate::network::{ip, VM_IP};
use backup_doctor::network::ip::AddressSet;
use backup_doctor::network::nsg::{evaluate_outbound, Nsg, Protocol, Verdict, EPHEMERAL_PORTS};

/// Outbound TCP from the VM (no ASGs) to every address of `destination` on `port`.
pub(crate) fn verdict(
    nic: Option<&Nsg>,
    subnet: Option<&Nsg>,
    destination: &AddressSet,
    port: u16,
) -> Verdict {
    verdict_of(nic, subnet, destination, port, Protocol::Tcp, &[])
}

pub(crate) fn verdict_of(
    nic: Option<&Nsg>,
    subnet: Option<&Nsg>,
    destination: &AddressSet,
    port: u16,
    protocol: Protocol,
    src_asgs: &[String],
) -> Verdict {
    evaluate_outbound(
        &[("NIC", nic), ("subnet", subnet)],
        ip(VM_IP),
        src_asgs,
        destination,
        port,
        protocol,
        EPHEMERAL_PORTS,
    )
}

/// "level rule" for each deciding rule of an Allowed verdict; panics otherwise.
pub(crate) fn allowed_by(verdict: &Verdict) -> Vec<String> {
    match verdict {
        Verdict::Allowed(by) => by
            .iter()
            .map(|d| format!("{} {}", d.level, d.rule))
            .collect(),
        other => panic!("expected Allowed, got {other:?}"),
    }
}

/// "level rule" for each blocking rule of a Blocked verdict; panics otherwise.
pub(crate) fn blocked_by(verdict: &Verdict) -> Vec<String> {
    match verdict {
        Verdict::Blocked { by, .. } => by
            .iter()
            .map(|d| format!("{} {}", d.level, d.rule))
            .collect(),
        other => panic!("expected Blocked, got {other:?}"),
    }
}

pub(crate) fn is_blocked(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Blocked { .. })
}

pub(crate) fn is_unknown(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Unknown(_))
}

pub(crate) fn is_complete_block(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Blocked { blocked_pieces, pieces, .. } if blocked_pieces == pieces)
}
