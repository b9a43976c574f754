//! Property tests for the network analyser. The implementation is fast because it never looks at
//! addresses or ports one by one: it splits destination sets and source-port ranges at rule
//! boundaries and evaluates one representative per piece. The references in this test's modules
//! do the opposite: they walk every address and every source port of a small universe with the
//! plainest code that states the documented semantics (docs/network.md, "The Azure behaviour it
//! follows"), so a wrong boundary, an off-by-one at a range end or a mis-ordered tie-break shows
//! up as a disagreement.
//!
//! `addresses` holds the small address universe, `nsg` the generated NSGs in ARM shape,
//! `nsg_reference` the per-flow NSG reference, `routes` the route reference and `algebra` the
//! bit-set model of address sets; the properties themselves are below.

mod addresses;
mod algebra;
mod nsg;
mod nsg_reference;
mod routes;

use algebra::{check_algebra, check_representatives, ranges_in_algebra_universe};
use nsg::nsg_case;
use nsg_reference::check_nsg_case;
use proptest::collection::vec;
use proptest::prelude::*;
use routes::{check_route_case, check_system_routes, route_case};

// ------------------------------------------------------------------------------------ the tests

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nsg_verdict_matches_per_flow_reference(case in nsg_case()) {
        check_nsg_case(&case)?;
    }

    #[test]
    fn route_selection_matches_naive_reference(case in route_case()) {
        check_route_case(&case)?;
    }

    #[test]
    fn system_routes_are_the_documented_defaults(case in route_case()) {
        check_system_routes(&case)?;
    }

    #[test]
    fn address_set_algebra_matches_bit_set(a in ranges_in_algebra_universe(), b in ranges_in_algebra_universe()) {
        check_algebra(&a, &b)?;
    }

    #[test]
    fn representatives_hit_every_piece(
        within in ranges_in_algebra_universe(),
        cut_sets in vec(ranges_in_algebra_universe(), 0..=3),
    ) {
        check_representatives(&within, &cut_sets)?;
    }
}
