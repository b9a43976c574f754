//! A page of an ARM list as the live collector decodes it (src/live/collect/pages.rs): the body
//! read as ARM's JSON (the service tags document through the SDK's model, the one list the
//! collector still reads typed), its `nextLink` put through the host guard, and its items filed as the collection's
//! snapshot file and loaded by the snapshot loader, as a live scan does.
//!
//! The first byte picks the list; the rest is the response body.
#![no_main]

use azure_mgmt_network::models as network;
use backup_doctor::inventory::types::*;
use backup_doctor::live::collect::snapshot_file;
use backup_doctor::live::hosts::HostGuard;
use backup_doctor::source::snapshot;
use backup_doctor_fuzz::assert_names;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;

type Decode = fn(&[u8]) -> Result<Value, String>;

/// A list read through the SDK: its model decodes the body (a field of the wrong type fails the
/// read), and the collector takes the model back to JSON.
fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(body: &[u8]) -> Result<Value, String> {
    let page: T = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    serde_json::to_value(page).map_err(|e| e.to_string())
}

/// A list read as ARM's JSON (`arm_list`, `raw_list`, the Graph query): any JSON.
fn raw(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000001";

/// (folder, kind, decoder) per list the collector reads.
const LISTS: &[(&str, &str, Decode)] = &[
    (
        SUBSCRIPTION,
        VIRTUAL_MACHINES,
        raw,
    ),
    (SUBSCRIPTION, DISKS, raw),
    (
        SUBSCRIPTION,
        DISK_ENCRYPTION_SETS,
        raw,
    ),
    (
        SUBSCRIPTION,
        RESTORE_POINT_COLLECTIONS,
        raw,
    ),
    (
        SUBSCRIPTION,
        NETWORK_INTERFACES,
        raw,
    ),
    (
        SUBSCRIPTION,
        VIRTUAL_NETWORKS,
        raw,
    ),
    (
        SUBSCRIPTION,
        NETWORK_SECURITY_GROUPS,
        raw,
    ),
    (
        SUBSCRIPTION,
        ROUTE_TABLES,
        raw,
    ),
    (
        SUBSCRIPTION,
        PRIVATE_ENDPOINTS,
        raw,
    ),
    (
        SUBSCRIPTION,
        PRIVATE_DNS_ZONES,
        raw,
    ),
    (
        SUBSCRIPTION,
        PRIVATE_DNS_LINKS,
        raw,
    ),
    (
        SUBSCRIPTION,
        PRIVATE_DNS_A_RECORDS,
        raw,
    ),
    (SUBSCRIPTION, KEY_VAULTS, raw),
    (
        SUBSCRIPTION,
        KEY_VAULT_KEYS,
        raw,
    ),
    (
        SUBSCRIPTION,
        KEY_VAULT_SECRETS,
        raw,
    ),
    (SUBSCRIPTION, RECOVERY_VAULTS, raw),
    (
        SUBSCRIPTION,
        PROTECTED_ITEMS,
        raw,
    ),
    (SUBSCRIPTION, BACKUP_POLICIES, raw),
    (SUBSCRIPTION, BACKUP_JOBS, raw),
    (
        SUBSCRIPTION,
        RESOURCE_GROUPS,
        raw,
    ),
    (
        SUBSCRIPTION,
        PROVIDERS,
        raw,
    ),
    (
        SUBSCRIPTION,
        LOCKS,
        raw,
    ),
    (SUBSCRIPTION, POLICY_ASSIGNMENTS, raw),
    (SUBSCRIPTION, POLICY_EXEMPTIONS, raw),
    ("tenant", POLICY_DEFINITIONS, raw),
    ("tenant", SUBSCRIPTIONS, raw),
    ("tenant", SERVICE_PRINCIPALS, raw),
    (
        "tenant",
        SERVICE_TAGS,
        typed::<network::ServiceTagsListResult>,
    ),
    (
        SUBSCRIPTION,
        ROLE_ASSIGNMENTS,
        raw,
    ),
    (
        SUBSCRIPTION,
        ROLE_DEFINITIONS,
        raw,
    ),
    ("tenant", POLICY_SET_DEFINITIONS, raw),
    ("tenant", RESOURCE_CONTAINERS, raw),
];

fn guard() -> &'static (url::Url, HostGuard) {
    static GUARD: OnceLock<(url::Url, HostGuard)> = OnceLock::new();
    GUARD.get_or_init(|| {
        let arm = url::Url::parse("https://management.azure.com/").expect("a URL");
        let guard = HostGuard::new([&arm]);
        (arm, guard)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (folder, what, decode) = LISTS[usize::from(pick) % LISTS.len()];
    // A body the model cannot read is a gap of the run, not a crash: nothing more to check.
    let Ok(mut page) = decode(body) else {
        return;
    };
    if let Some(link) = page.get("nextLink").and_then(Value::as_str) {
        let (arm, guard) = guard();
        if let Ok(url) = arm.join(link) {
            let _ = guard.check(&url, "nextLink");
        }
    }
    // The service tags document is filed whole; every other list is its items.
    let items = match page.get_mut("value") {
        _ if what == SERVICE_TAGS => vec![page],
        Some(Value::Array(values)) => std::mem::take(values),
        _ => Vec::new(),
    };
    let (path, file) = snapshot_file(folder, what, items);
    let bytes = serde_json::to_vec(&file).expect("a JSON value serializes");
    if let Err(error) = snapshot::load_files(&[(path.clone(), bytes)]) {
        assert_names(&error, &path);
    }
});
