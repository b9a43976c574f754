//! The ARM what-if reader (`gate --whatif`): the CLI's flat JSON or the REST body, then laid
//! over an empty baseline as `gate` does.
#![no_main]

use backup_doctor::source::whatif;
use backup_doctor_fuzz::{assert_names, input_file, lay_over_nothing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = input_file("whatif.json", data);
    match whatif::load(&file) {
        Ok(changes) => lay_over_nothing(&changes),
        Err(error) => assert_names(&error, &file),
    }
});
