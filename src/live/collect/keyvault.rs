//! Microsoft.KeyVault: key vaults, and the metadata (never the values) of each vault's keys and
//! secrets.

use super::Read;
use crate::inventory::Kind;

sdk_client!(keyvault: azure_mgmt_keyvault::package_preview_2022_02::Client);

reads! {
    KeyVault: list |sub| keyvault(sub).vaults_client().list_by_subscription(sub.id);
    KeyVaultKey: child |sub, vault|
        keyvault(sub).keys_client().list(sub.id, &vault.group, &vault.name);
    KeyVaultSecret: child |sub, vault|
        keyvault(sub).secrets_client().list(&vault.group, &vault.name, sub.id);
}
