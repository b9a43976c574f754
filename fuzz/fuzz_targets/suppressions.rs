//! A suppressions file (`--suppressions FILE`), read on a fixed day so expiry is deterministic.
#![no_main]

use backup_doctor::suppress::Suppressions;
use backup_doctor_fuzz::{assert_names, input_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = input_file("suppressions.toml", data);
    match Suppressions::load(&file, time::macros::date!(2026 - 06 - 01)) {
        Ok(suppressions) => {
            let _ = suppressions.expired();
        }
        Err(error) => assert_names(&error, &file),
    }
});
