//! Which credential a live scan signs in with, and which cloud it talks to.

use azure_core::auth::TokenCredential;
use azure_identity::{
    AppServiceManagedIdentityCredential, AzureCliCredential, ClientSecretCredential,
    DefaultAzureCredentialBuilder, TokenCredentialOptions, VirtualMachineManagedIdentityCredential,
    WorkloadIdentityCredential,
};
use std::sync::Arc;
use url::Url;

/// The credential kinds `--auth` names. `Default` tries them in the order the Azure SDKs do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthKind {
    /// Environment service principal, workload identity, managed identity, then the Azure CLI.
    Default,
    /// A service principal with a secret: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET.
    Secret,
    /// Workload identity federation: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE.
    Workload,
    /// Managed identity: IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service, Container Apps) or IMDS.
    ManagedIdentity,
    /// The signed-in Azure CLI (`az login`).
    Cli,
}

/// The sovereign clouds the Azure SDKs know, plus endpoints given by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cloud {
    Public,
    Usgov,
    China,
}

impl Cloud {
    pub fn arm_endpoint(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.azure.com",
            Cloud::Usgov => "https://management.usgovcloudapi.net",
            Cloud::China => "https://management.chinacloudapi.cn",
        }
    }

    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "https://login.microsoftonline.com",
            Cloud::Usgov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    pub fn graph_endpoint(self) -> &'static str {
        match self {
            Cloud::Public => "https://graph.microsoft.com",
            Cloud::Usgov => "https://graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::Usgov => "usgov",
            Cloud::China => "china",
        }
    }
}

/// Where a live scan's calls go: ARM, the token authority and Microsoft Graph.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub cloud: Cloud,
    pub arm: Url,
    pub authority: Url,
    pub graph: Url,
}

impl Endpoints {
    /// The cloud's endpoints, with `--arm-endpoint`, `AZURE_AUTHORITY_HOST` and `--graph-endpoint`
    /// taking precedence (Azure Stack, air-gapped clouds, the test emulator).
    pub fn resolve(
        cloud: Cloud,
        arm: Option<&str>,
        authority: Option<&str>,
        graph: Option<&str>,
    ) -> Result<Endpoints, String> {
        let parse = |what: &str, text: &str| {
            Url::parse(text).map_err(|e| format!("{what} `{text}` is not a URL: {e}"))
        };
        let env_authority = std::env::var("AZURE_AUTHORITY_HOST").ok();
        Ok(Endpoints {
            cloud,
            arm: parse("--arm-endpoint", arm.unwrap_or(cloud.arm_endpoint()))?,
            authority: parse(
                "the authority host (AZURE_AUTHORITY_HOST)",
                authority
                    .or(env_authority.as_deref())
                    .unwrap_or(cloud.authority_host()),
            )?,
            graph: parse("--graph-endpoint", graph.unwrap_or(cloud.graph_endpoint()))?,
        })
    }

    /// The token scope for ARM: `{endpoint}/.default`.
    pub fn arm_scope(&self) -> String {
        format!("{}/.default", self.arm.as_str().trim_end_matches('/'))
    }
}

/// The credential `kind` names, configured from the environment. Errors say which variables are
/// missing, so the user knows what to set.
pub fn credential(
    kind: AuthKind,
    endpoints: &Endpoints,
) -> Result<Arc<dyn TokenCredential>, String> {
    let mut options = TokenCredentialOptions::default();
    options.set_authority_host(
        endpoints
            .authority
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
    );
    let http = options.http_client();
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                format!(
                    "--auth {} needs the environment variable {name}",
                    kind_name(kind)
                )
            })
    };
    let credential: Arc<dyn TokenCredential> = match kind {
        AuthKind::Secret => Arc::new(ClientSecretCredential::new(
            http,
            endpoints.authority.clone(),
            var("AZURE_TENANT_ID")?,
            var("AZURE_CLIENT_ID")?,
            var("AZURE_CLIENT_SECRET")?,
        )),
        AuthKind::Workload => {
            let file = var("AZURE_FEDERATED_TOKEN_FILE")?;
            let token = std::fs::read_to_string(&file).map_err(|e| {
                format!(
                    "cannot read the federated token file {file} (AZURE_FEDERATED_TOKEN_FILE): {e}"
                )
            })?;
            Arc::new(WorkloadIdentityCredential::new(
                http,
                endpoints.authority.clone(),
                var("AZURE_TENANT_ID")?,
                var("AZURE_CLIENT_ID")?,
                token.trim().to_owned(),
            ))
        }
        AuthKind::ManagedIdentity => {
            if std::env::var_os("IDENTITY_ENDPOINT").is_some() {
                Arc::new(
                    AppServiceManagedIdentityCredential::create(options)
                        .map_err(|e| format!("managed identity (IDENTITY_ENDPOINT): {e}"))?,
                )
            } else {
                Arc::new(VirtualMachineManagedIdentityCredential::new(options))
            }
        }
        AuthKind::Cli => Arc::new(AzureCliCredential::new()),
        AuthKind::Default => Arc::new(
            DefaultAzureCredentialBuilder::new()
                .with_options(options)
                .build()
                .map_err(|e| format!("no credential available: {e}"))?,
        ),
    };
    Ok(credential)
}

fn kind_name(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::Default => "default",
        AuthKind::Secret => "secret",
        AuthKind::Workload => "workload",
        AuthKind::ManagedIdentity => "managed-identity",
        AuthKind::Cli => "cli",
    }
}
