//! The snapshot loader on a directory (`scan --snapshot DIR`): the input, split at NUL bytes,
//! becomes up to four files in the layout `collect --out` writes (tenant folder, subscription
//! folder, a nested folder, and the manifest `snapshot.json`), read in parallel and merged in path order.
#![no_main]

use backup_doctor::source::snapshot;
use backup_doctor_fuzz::{assert_names, scratch, split};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 4] = [
    "tenant/subscriptions.json",
    "00000000-0000-0000-0000-000000000001/Microsoft.Compute.virtualMachines.json",
    "00000000-0000-0000-0000-000000000001/more/Microsoft.Network.networkInterfaces.json",
    "snapshot.json",
];

fuzz_target!(|data: &[u8]| {
    let root = scratch().join("tree");
    let _ = std::fs::remove_dir_all(&root);
    for (name, bytes) in FILES.iter().zip(split(data, FILES.len())) {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("every name has a folder"))
            .expect("the scratch directory is writable");
        std::fs::write(&path, bytes).expect("the scratch directory is writable");
    }
    if let Err(error) = snapshot::load(&root) {
        assert_names(&error, &root);
    }
});
