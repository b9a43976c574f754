//! IPv4 address ranges and sets. Backup endpoints are reached over IPv4, so IPv6 prefixes (which
//! service tags and NSG rules also carry) are left out of every set; a rule that names only IPv6
//! prefixes therefore never matches an IPv4 flow, as in Azure.

use std::fmt;
use std::net::Ipv4Addr;

/// An inclusive range of IPv4 addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range {
    pub lo: u32,
    pub hi: u32,
}

impl Range {
    pub const ALL: Range = Range {
        lo: 0,
        hi: u32::MAX,
    };

    pub fn contains(&self, ip: u32) -> bool {
        self.lo <= ip && ip <= self.hi
    }

    pub fn overlaps(&self, other: &Range) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }

    /// The prefix length when the range is a CIDR block.
    pub fn prefix_len(&self) -> Option<u8> {
        let size = u64::from(self.hi - self.lo) + 1;
        if !size.is_power_of_two() || u64::from(self.lo) % size != 0 {
            return None;
        }
        Some(32 - size.trailing_zeros() as u8)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix_len() {
            Some(len) => write!(f, "{}/{}", Ipv4Addr::from(self.lo), len),
            None => write!(f, "{}-{}", Ipv4Addr::from(self.lo), Ipv4Addr::from(self.hi)),
        }
    }
}

/// Parses `a.b.c.d/len` or a bare address (a /32). IPv6 and anything else give `None`.
pub fn parse_cidr(text: &str) -> Option<Range> {
    let text = text.trim();
    let (address, len) = match text.split_once('/') {
        Some((address, len)) => (address, len.parse::<u8>().ok().filter(|l| *l <= 32)?),
        None => (text, 32),
    };
    let ip = u32::from(address.parse::<Ipv4Addr>().ok()?);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let lo = ip & mask;
    Some(Range { lo, hi: lo | !mask })
}

/// Parses an IPv4 address, also one given with a prefix length (`10.0.0.4/28` → 10.0.0.4).
pub fn parse_ip(text: &str) -> Option<u32> {
    let address = text.split('/').next()?.trim();
    address.parse::<Ipv4Addr>().ok().map(u32::from)
}

pub fn show_ip(ip: u32) -> String {
    Ipv4Addr::from(ip).to_string()
}

/// A set of IPv4 addresses as sorted, disjoint, non-adjacent ranges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AddressSet {
    ranges: Vec<Range>,
}

impl AddressSet {
    pub fn all() -> AddressSet {
        AddressSet {
            ranges: vec![Range::ALL],
        }
    }

    pub fn from_ranges(mut ranges: Vec<Range>) -> AddressSet {
        ranges.sort();
        let mut merged: Vec<Range> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if u64::from(range.lo) <= u64::from(last.hi) + 1 => {
                    last.hi = last.hi.max(range.hi)
                }
                _ => merged.push(range),
            }
        }
        AddressSet { ranges: merged }
    }

    /// The IPv4 prefixes among `prefixes`; others (IPv6) are skipped.
    pub fn from_prefixes<'a>(prefixes: impl IntoIterator<Item = &'a str>) -> AddressSet {
        AddressSet::from_ranges(prefixes.into_iter().filter_map(parse_cidr).collect())
    }

    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn contains(&self, ip: u32) -> bool {
        let at = self.ranges.partition_point(|r| r.hi < ip);
        self.ranges.get(at).is_some_and(|r| r.contains(ip))
    }

    pub fn union(&self, other: &AddressSet) -> AddressSet {
        AddressSet::from_ranges(self.ranges.iter().chain(&other.ranges).copied().collect())
    }

    pub fn intersection(&self, other: &AddressSet) -> AddressSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a, b) = (self.ranges[i], other.ranges[j]);
            let lo = a.lo.max(b.lo);
            let hi = a.hi.min(b.hi);
            if lo <= hi {
                out.push(Range { lo, hi });
            }
            if a.hi < b.hi {
                i += 1;
            } else {
                j += 1;
            }
        }
        AddressSet { ranges: out }
    }

    pub fn complement(&self) -> AddressSet {
        let mut out = Vec::new();
        let mut next: u64 = 0;
        for range in &self.ranges {
            if u64::from(range.lo) > next {
                out.push(Range {
                    lo: next as u32,
                    hi: range.lo - 1,
                });
            }
            next = u64::from(range.hi) + 1;
        }
        if next <= u64::from(u32::MAX) {
            out.push(Range {
                lo: next as u32,
                hi: u32::MAX,
            });
        }
        AddressSet { ranges: out }
    }

    /// Every `lo` and `hi + 1` of the ranges: where membership can change.
    pub fn boundaries(&self, out: &mut Vec<u64>) {
        for range in &self.ranges {
            out.push(u64::from(range.lo));
            out.push(u64::from(range.hi) + 1);
        }
    }
}

/// Splits `within` at `cuts` and returns one address per piece: evaluating a first-match rule
/// list at these addresses covers every address of `within`, because no rule's address match
/// changes inside a piece.
pub fn representatives(within: &AddressSet, cuts: &mut Vec<u64>) -> Vec<u32> {
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    for range in within.ranges() {
        out.push(range.lo);
        let from = cuts.partition_point(|&c| c <= u64::from(range.lo));
        for &cut in &cuts[from..] {
            if cut > u64::from(range.hi) {
                break;
            }
            out.push(cut as u32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(prefixes: &[&str]) -> AddressSet {
        AddressSet::from_prefixes(prefixes.iter().copied())
    }

    #[test]
    fn parses_cidrs_and_skips_ipv6() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("1.2.3.4").unwrap().to_string(), "1.2.3.4/32");
        assert_eq!(parse_cidr("0.0.0.0/0"), Some(Range::ALL));
        assert_eq!(parse_cidr("2603:1000::/40"), None);
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_ip("172.20.2.16/28"), parse_ip("172.20.2.16"));
    }

    #[test]
    fn set_algebra() {
        let a = set(&["10.0.0.0/24", "10.0.1.0/24", "192.168.0.0/16"]);
        assert_eq!(a.ranges().len(), 2, "adjacent blocks merge");
        assert!(a.contains(parse_ip("10.0.1.255").unwrap()));
        assert!(!a.contains(parse_ip("10.0.2.0").unwrap()));
        let b = set(&["10.0.0.128/25", "8.8.8.8"]);
        assert_eq!(a.intersection(&b), set(&["10.0.0.128/25"]));
        assert_eq!(a.complement().complement(), a);
        assert_eq!(AddressSet::all().complement(), AddressSet::default());
        assert_eq!(a.union(&b).intersection(&b), b);
    }

    #[test]
    fn representatives_cover_every_piece() {
        let within = set(&["10.0.0.0/24"]);
        let mut cuts = Vec::new();
        set(&["10.0.0.128/25"]).boundaries(&mut cuts);
        set(&["10.0.0.4"]).boundaries(&mut cuts);
        let reps: Vec<String> = representatives(&within, &mut cuts)
            .into_iter()
            .map(show_ip)
            .collect();
        assert_eq!(reps, ["10.0.0.0", "10.0.0.4", "10.0.0.5", "10.0.0.128"]);
    }
}
