//! Address set algebra against a 64-bit bit-set model, and `representatives` against the pieces
//! the cuts make.

use crate::addresses::ip;
use backup_doctor::network::ip::{representatives, AddressSet, Range};
use proptest::collection::vec;
use proptest::prelude::*;

/// 64 addresses in three windows: the bottom and top of the IPv4 space (where `complement` and
/// `hi + 1` can overflow) and a private block in between. One bit per address of a `u64`.
fn algebra_universe() -> Vec<u32> {
    let base = ip("10.0.0.0");
    (0..16)
        .chain(base..base + 32)
        .chain(u32::MAX - 15..=u32::MAX)
        .collect()
}

/// Ranges with both ends in the universe; they may span the gaps between windows.
pub(crate) fn ranges_in_algebra_universe() -> impl Strategy<Value = Vec<Range>> {
    let range = (0usize..64, 0usize..64).prop_map(|(a, b)| {
        let u = algebra_universe();
        Range {
            lo: u[a.min(b)],
            hi: u[a.max(b)],
        }
    });
    vec(range, 0..=4)
}

/// The bit-set model of ranges: bit k is set iff universe address k is in one of them.
fn model(ranges: &[Range]) -> u64 {
    algebra_universe()
        .iter()
        .enumerate()
        .filter(|(_, &a)| ranges.iter().any(|r| r.lo <= a && a <= r.hi))
        .fold(0, |bits, (k, _)| bits | 1 << k)
}

/// Sorted, non-empty, disjoint and non-adjacent: the form that makes `==` mean "same set".
fn assert_canonical(set: &AddressSet) -> Result<(), TestCaseError> {
    for r in set.ranges() {
        prop_assert!(r.lo <= r.hi, "empty range in {:?}", set);
    }
    for pair in set.ranges().windows(2) {
        prop_assert!(
            u64::from(pair[0].hi) + 1 < u64::from(pair[1].lo),
            "ranges overlap or touch in {:?}",
            set
        );
    }
    Ok(())
}

pub(crate) fn check_algebra(a: &[Range], b: &[Range]) -> Result<(), TestCaseError> {
    let (set_a, set_b) = (
        AddressSet::from_ranges(a.to_vec()),
        AddressSet::from_ranges(b.to_vec()),
    );
    let (model_a, model_b) = (model(a), model(b));
    let union = set_a.union(&set_b);
    let intersection = set_a.intersection(&set_b);
    let complement = set_a.complement();
    for (set, expected, what) in [
        (&set_a, model_a, "from_ranges"),
        (&union, model_a | model_b, "union"),
        (&intersection, model_a & model_b, "intersection"),
        (&complement, !model_a, "complement"),
    ] {
        assert_canonical(set)?;
        prop_assert_eq!(
            model(set.ranges()),
            expected,
            "{} of {:?} and {:?}",
            what,
            a,
            b
        );
    }
    for (k, &address) in algebra_universe().iter().enumerate() {
        prop_assert_eq!(set_a.contains(address), model_a >> k & 1 == 1);
    }
    prop_assert_eq!(complement.complement(), set_a.clone());
    prop_assert_eq!(set_a.is_empty(), a.is_empty());
    Ok(())
}

/// `representatives` yields the first address of every piece of `within` that the cuts make, and
/// nothing else.
pub(crate) fn check_representatives(
    within: &[Range],
    cut_sets: &[Vec<Range>],
) -> Result<(), TestCaseError> {
    let within = AddressSet::from_ranges(within.to_vec());
    let mut cuts = Vec::new();
    for ranges in cut_sets {
        AddressSet::from_ranges(ranges.clone()).boundaries(&mut cuts);
    }
    let all_cuts = cuts.clone();
    let reps = representatives(&within, &mut cuts);
    let range_of = |address: u32| {
        within
            .ranges()
            .iter()
            .position(|r| r.lo <= address && address <= r.hi)
    };
    let cut_between = |lo: u32, hi: u32| {
        all_cuts
            .iter()
            .any(|&c| u64::from(lo) < c && c <= u64::from(hi))
    };
    prop_assert!(
        reps.windows(2).all(|w| w[0] < w[1]),
        "not increasing: {:?}",
        reps
    );
    for &rep in &reps {
        prop_assert!(range_of(rep).is_some(), "{} is outside the set", rep);
    }
    for pair in reps.windows(2) {
        if range_of(pair[0]) == range_of(pair[1]) {
            prop_assert!(cut_between(pair[0], pair[1]), "{:?} share a piece", pair);
        }
    }
    for address in algebra_universe() {
        let Some(range) = range_of(address) else {
            continue;
        };
        let rep = reps.iter().rev().find(|&&r| r <= address);
        prop_assert!(
            rep.is_some_and(|&r| range_of(r) == Some(range) && !cut_between(r, address)),
            "the piece of {} has no representative ({:?})",
            address,
            reps
        );
    }
    Ok(())
}
