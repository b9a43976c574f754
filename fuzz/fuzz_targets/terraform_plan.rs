//! The Terraform plan reader (`gate --plan`, `check --plan`): `terraform show -json` output, in
//! any encoding the reader accepts, without and with a baseline inventory, then laid over an
//! empty baseline as `gate` does.
#![no_main]

use backup_doctor::source::terraform;
use backup_doctor_fuzz::{assert_names, demo_baseline, input_file, lay_over_nothing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = input_file("plan.json", data);
    for baseline in [None, Some(demo_baseline())] {
        match terraform::load(&file, baseline) {
            Ok(changes) => lay_over_nothing(&changes),
            Err(error) => assert_names(&error, &file),
        }
    }
});
