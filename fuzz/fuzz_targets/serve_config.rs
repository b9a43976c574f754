//! The configuration file of `serve` (docs/serve.md), with the `BACKUP_DOCTOR_…` environment
//! laid over it: the input up to the first NUL is the file, each line after it a `NAME=VALUE`
//! variable.
#![no_main]

use backup_doctor::serve::config;
use backup_doctor_fuzz::{assert_names, input_file, split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parts = split(data, 2);
    let file = input_file("serve.toml", parts[0]);
    let env: Vec<(String, String)> = parts
        .get(1)
        .map(|vars| String::from_utf8_lossy(vars).into_owned())
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    if let Err(error) = config::load(&file, &env) {
        // A bad variable is named instead of the file.
        let detail = error.detail();
        if !env
            .iter()
            .any(|(name, _)| detail.file.as_os_str() == name.as_str())
        {
            assert_names(detail, &file);
        }
    }
});
