//! The NSG and route universe: a private block that holds the VNet and a public block of Azure
//! service addresses, CIDR blocks as the tests reason about them, and strategies for blocks and
//! address sets inside the universe.

use backup_doctor::network::ip::{AddressSet, Range};
use proptest::collection::vec;
use proptest::prelude::*;
use std::net::Ipv4Addr;

pub(crate) fn ip(text: &str) -> u32 {
    u32::from(text.parse::<Ipv4Addr>().expect("test address parses"))
}

/// A CIDR block as the tests generate and reason about it, independent of `ip::parse_cidr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub(crate) lo: u32,
    pub(crate) len: u8,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Cidr {
        let (address, len) = text.split_once('/').unwrap_or((text, "32"));
        let len: u8 = len.parse().expect("test prefix length parses");
        Cidr {
            lo: ip(address) & mask(len),
            len,
        }
    }

    pub(crate) fn contains(&self, address: u32) -> bool {
        address & mask(self.len) == self.lo
    }

    pub(crate) fn text(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.lo), self.len)
    }

    pub(crate) fn range(&self) -> Range {
        Range {
            lo: self.lo,
            hi: self.lo | !mask(self.len),
        }
    }
}

pub(crate) fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

/// The NSG and route universe: a private block that holds the VNet and a public block that
/// stands for Azure service addresses (it is "Internet" and holds the Storage tags). Small enough
/// to enumerate, split in two so that the `Internet` and `VirtualNetwork` tags both matter.
pub(crate) const PRIVATE_BLOCK: &str = "10.0.0.0/26";
pub(crate) const PUBLIC_BLOCK: &str = "20.38.0.0/27";

fn blocks() -> [Cidr; 2] {
    [Cidr::parse(PRIVATE_BLOCK), Cidr::parse(PUBLIC_BLOCK)]
}

pub(crate) fn universe() -> Vec<u32> {
    blocks().iter().flat_map(|b| b.lo..=b.range().hi).collect()
}

/// A random CIDR block inside `block`, of any size up to the whole block.
pub(crate) fn cidr_in(block: Cidr) -> impl Strategy<Value = Cidr> {
    let block_bits = 32 - block.len;
    (any::<u32>(), 0..=block_bits).prop_map(move |(raw, host_bits)| {
        let offset = (raw % (1 << block_bits)) & !((1u32 << host_bits) - 1);
        Cidr {
            lo: block.lo + offset,
            len: 32 - host_bits,
        }
    })
}

pub(crate) fn cidr_in_universe() -> impl Strategy<Value = Cidr> {
    let [private, public] = blocks();
    prop_oneof![cidr_in(private), cidr_in(public)]
}

/// A random set of addresses inside the universe, built from arbitrary (not only CIDR) ranges so
/// that pieces start and end off rule boundaries.
pub(crate) fn set_in_universe() -> impl Strategy<Value = AddressSet> {
    let range = (any::<bool>(), any::<u8>(), any::<u8>()).prop_map(|(public, a, b)| {
        let block = blocks()[usize::from(public)];
        let size = 1u32 << (32 - block.len);
        let (a, b) = (u32::from(a) % size, u32::from(b) % size);
        Range {
            lo: block.lo + a.min(b),
            hi: block.lo + a.max(b),
        }
    });
    vec(range, 1..=3).prop_map(AddressSet::from_ranges)
}

/// Every address of `set`, read from its ranges (the sets here are small).
pub(crate) fn addresses_of(set: &AddressSet) -> Vec<u32> {
    set.ranges().iter().flat_map(|r| r.lo..=r.hi).collect()
}
