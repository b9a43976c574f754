//! Which credential a live scan signs in with, and which cloud it talks to.

use azure_core::auth::TokenCredential;
use azure_identity::{
    AppServiceManagedIdentityCredential, AzureCliCredential, ClientCertificateCredential,
    ClientCertificateCredentialOptions, ClientSecretCredential, DefaultAzureCredentialBuilder,
    TokenCredentialOptions, VirtualMachineManagedIdentityCredential, WorkloadIdentityCredential,
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
    /// A service principal with a certificate: AZURE_TENANT_ID, AZURE_CLIENT_ID,
    /// AZURE_CLIENT_CERTIFICATE_PATH (PKCS#12, binary or base64), AZURE_CLIENT_CERTIFICATE_PASSWORD.
    Certificate,
    /// Workload identity federation: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE.
    Workload,
    /// Managed identity: IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service, Container Apps) or IMDS;
    /// the user-assigned identity AZURE_CLIENT_ID names, else the system-assigned one.
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

    /// The token scope for Microsoft Graph: `{endpoint}/.default`.
    pub fn graph_scope(&self) -> String {
        format!("{}/.default", self.graph.as_str().trim_end_matches('/'))
    }
}

/// The credential `kind` names, configured from the environment. Errors say which variables are
/// missing, so the user knows what to set. Its token requests go through the live reads' HTTP
/// client (`live::transport`) with the default per-call timeout.
pub fn credential(
    kind: AuthKind,
    endpoints: &Endpoints,
) -> Result<Arc<dyn TokenCredential>, String> {
    let http = super::transport::http_client(super::transport::DEFAULT_CALL_TIMEOUT)?;
    credential_with(kind, endpoints, http)
}

/// As [`credential`], its token requests sent through `http`.
pub fn credential_with(
    kind: AuthKind,
    endpoints: &Endpoints,
    http: Arc<dyn azure_core::HttpClient>,
) -> Result<Arc<dyn TokenCredential>, String> {
    // The client follows no redirect: a token request redirected elsewhere would carry the
    // client secret or assertion to that host.
    let mut options = TokenCredentialOptions::from(http);
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
        AuthKind::Certificate => {
            let path = var("AZURE_CLIENT_CERTIFICATE_PATH")?;
            let certificate = pkcs12_base64(&path)?;
            let password = std::env::var("AZURE_CLIENT_CERTIFICATE_PASSWORD").unwrap_or_default();
            Arc::new(
                ClientCertificateCredential::new(
                    var("AZURE_TENANT_ID")?,
                    var("AZURE_CLIENT_ID")?,
                    certificate,
                    password,
                    ClientCertificateCredentialOptions::new(options, false),
                )
                .map_err(|e| format!("client certificate credential: {e}"))?,
            )
        }
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
            if let Some(client_id) = std::env::var("AZURE_CLIENT_ID")
                .ok()
                .filter(|v| !v.is_empty())
            {
                Arc::new(super::managed_identity::UserAssignedIdentity::new(
                    http, client_id,
                )?)
            } else if std::env::var_os("IDENTITY_ENDPOINT").is_some() {
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

/// The certificate as the SDK reads it: a PKCS#12 archive in base64. `az ad sp create-for-rbac
/// --create-cert` and most key stores give the binary `.pfx`, so that is encoded here; a PEM file
/// cannot carry the key the way the SDK wants it, and the message says how to convert it.
fn pkcs12_base64(path: &str) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!("cannot read the certificate {path} (AZURE_CLIENT_CERTIFICATE_PATH): {e}")
    })?;
    if bytes.starts_with(b"-----BEGIN") {
        return Err(format!(
            "{path} is PEM; the certificate credential needs PKCS#12: convert it with `openssl pkcs12 -export -in {path} -out sp.pfx` and point AZURE_CLIENT_CERTIFICATE_PATH at sp.pfx"
        ));
    }
    let text = String::from_utf8_lossy(&bytes);
    let compact: String = text.split_whitespace().collect();
    let already_base64 = !compact.is_empty()
        && azure_core::base64::decode(&compact).is_ok_and(|der| der.first() == Some(&0x30));
    Ok(if already_base64 {
        compact
    } else {
        azure_core::base64::encode(&bytes)
    })
}

fn kind_name(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::Default => "default",
        AuthKind::Secret => "secret",
        AuthKind::Certificate => "certificate",
        AuthKind::Workload => "workload",
        AuthKind::ManagedIdentity => "managed-identity",
        AuthKind::Cli => "cli",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_reach_the_sdk_as_base64_pkcs12_whatever_form_the_file_has() {
        let dir = tempfile::tempdir().unwrap();
        // A DER PKCS#12 archive starts with a SEQUENCE tag (0x30); the content does not matter here.
        let der = [0x30u8, 0x82, 0x01, 0x00, 0xff, 0x10];
        let binary = dir.path().join("sp.pfx");
        std::fs::write(&binary, der).unwrap();
        let encoded = pkcs12_base64(binary.to_str().unwrap()).unwrap();
        assert_eq!(azure_core::base64::decode(&encoded).unwrap(), der);

        let text = dir.path().join("sp.pfx.b64");
        std::fs::write(&text, format!("{}\n", encoded)).unwrap();
        assert_eq!(pkcs12_base64(text.to_str().unwrap()).unwrap(), encoded);

        let pem = dir.path().join("sp.pem");
        std::fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let problem = pkcs12_base64(pem.to_str().unwrap()).unwrap_err();
        assert!(problem.contains("openssl pkcs12 -export"), "{problem}");

        let missing = pkcs12_base64("/nonexistent/sp.pfx").unwrap_err();
        assert!(
            missing.contains("AZURE_CLIENT_CERTIFICATE_PATH"),
            "{missing}"
        );
    }
}
