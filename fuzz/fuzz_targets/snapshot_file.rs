//! The snapshot loader on one file (`scan --snapshot FILE`): any bytes either load or are refused
//! with an error naming the file.
#![no_main]

use backup_doctor::source::snapshot;
use backup_doctor_fuzz::{assert_names, input_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = input_file("snapshot.json", data);
    if let Err(error) = snapshot::load(&file) {
        assert_names(&error, &file);
    }
});
