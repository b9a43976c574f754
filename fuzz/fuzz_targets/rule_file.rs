//! A rule file as `--rules DIR` loads it (docs/writing-rules.md): decoded as the loader decodes
//! it, the TOML read, every fact a condition names checked against the facts schema and its CEL
//! measured and compiled (src/engine/rule/bounds.rs bounds what the CEL parser may recurse on).
#![no_main]

use backup_doctor::engine::rule;
use backup_doctor::source::text;
use backup_doctor_fuzz::{assert_names, input_file};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fuzz_target!(|data: &[u8]| {
    static ENV: OnceLock<Arc<cel::Env>> = OnceLock::new();
    let env = ENV.get_or_init(rule::cel_env);
    let file = input_file("rule.toml", data);
    let result =
        text::decode_str(&file, data).and_then(|(text, _)| rule::compile(env, &file, &text));
    if let Err(error) = result {
        assert_names(&error, &file);
    }
});
