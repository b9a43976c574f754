//! Microsoft.KeyVault: key vaults, and the metadata (never the values) of each vault's keys and
//! secrets.

use super::Read;
use crate::inventory::Kind;

/// The api-version of Key Vault package preview-2022-02.
const KEY_VAULT_API: &str = "2022-02-01-preview";

reads! {
    KeyVault: list |sub| sub.arm_list("providers/Microsoft.KeyVault/vaults", KEY_VAULT_API);
    KeyVaultKey: child |sub, vault| sub.arm_child_list(vault, "keys", KEY_VAULT_API);
    KeyVaultSecret: child |sub, vault| sub.arm_child_list(vault, "secrets", KEY_VAULT_API);
}
