//! Microsoft Entra authentication for the PostgreSQL store (`?azure_auth=KIND` in the URL): the
//! password is an access token for Azure Database for PostgreSQL, fetched with the credential
//! `--auth KIND` names, and refreshed before it expires. PostgreSQL checks a password only when a
//! connection opens, so the pool's connect options are swapped for new connections and the
//! connections already open carry on.

use crate::error::Error;
use crate::live::auth::{credential, AuthKind, Cloud, Endpoints};
use azure_core::auth::TokenCredential;
use clap::ValueEnum;
use sqlx::postgres::{PgConnectOptions, PgPool, PgSslMode};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The query parameters this module takes out of the URL before the driver sees it.
pub const AUTH_PARAMETER: &str = "azure_auth";
pub const CLOUD_PARAMETER: &str = "azure_cloud";

/// How a store URL asks to sign in with Entra ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntraAuth {
    pub kind: AuthKind,
    pub cloud: Cloud,
}

impl EntraAuth {
    /// The token scope of Azure Database for PostgreSQL (and MySQL) in the cloud: the
    /// `ossrdbms-aad` resource, not ARM's.
    pub fn scope(self) -> &'static str {
        match self.cloud {
            Cloud::Public => "https://ossrdbms-aad.database.windows.net/.default",
            Cloud::Usgov => "https://ossrdbms-aad.database.usgovcloudapi.net/.default",
            Cloud::China => "https://ossrdbms-aad.database.chinacloudapi.cn/.default",
        }
    }
}

fn value_names<T: ValueEnum>() -> String {
    T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|v| v.get_name().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_value<T: ValueEnum>(parameter: &str, value: &str) -> Result<T, Error> {
    T::from_str(value, true).map_err(|_| {
        Error::usage(
            "--store",
            format!("`{parameter}={value}` in the store URL is not one of its values"),
            format!("use {parameter}= one of {}", value_names::<T>()),
        )
    })
}

/// Takes `azure_auth` and `azure_cloud` out of `url`: the URL the driver gets, and the Entra
/// sign-in it asks for. `azure_cloud` without `azure_auth`, a value no `--auth`/`--cloud` takes,
/// or a password next to `azure_auth` is a usage error naming the parameter.
pub fn split(url: &str) -> Result<(String, Option<EntraAuth>), Error> {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // The driver's own parser reports what is wrong with it.
        return Ok((url.to_string(), None));
    };
    let mut kind = None;
    let mut cloud = None;
    let mut rest: Vec<(String, String)> = Vec::new();
    let mut password_parameter = false;
    for (key, value) in parsed.query_pairs() {
        if key.eq_ignore_ascii_case(AUTH_PARAMETER) {
            kind = Some(parse_value::<AuthKind>(AUTH_PARAMETER, &value)?);
        } else if key.eq_ignore_ascii_case(CLOUD_PARAMETER) {
            cloud = Some(parse_value::<Cloud>(CLOUD_PARAMETER, &value)?);
        } else {
            password_parameter |= key.eq_ignore_ascii_case("password");
            rest.push((key.into_owned(), value.into_owned()));
        }
    }
    let Some(kind) = kind else {
        if cloud.is_some() {
            return Err(Error::usage(
                "--store",
                format!("`{CLOUD_PARAMETER}` in the store URL without `{AUTH_PARAMETER}`: the cloud only says where Entra tokens come from"),
                format!("add {AUTH_PARAMETER}=managed-identity (or another --auth kind), or remove {CLOUD_PARAMETER}"),
            ));
        }
        return Ok((url.to_string(), None));
    };
    if parsed.password().is_some() || password_parameter {
        return Err(Error::usage(
            "--store",
            format!("the store URL has a password and `{AUTH_PARAMETER}`: with {AUTH_PARAMETER} the password is an Entra access token backup-doctor fetches"),
            format!("remove the password from the URL (postgres://USER@HOST/DATABASE?sslmode=verify-full&{AUTH_PARAMETER}=…), or remove {AUTH_PARAMETER} to sign in with the password"),
        ));
    }
    if rest.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(rest);
    }
    Ok((
        parsed.to_string(),
        Some(EntraAuth {
            kind,
            cloud: cloud.unwrap_or(Cloud::Public),
        }),
    ))
}

/// A token is a password for every server of the tenant that trusts the identity: it must not
/// cross a network in clear. TLS that the client may skip (`disable`, `allow`, `prefer`, the
/// driver's default) is refused unless the server is this machine (a Unix socket or loopback).
pub fn require_tls(options: &PgConnectOptions) -> Result<(), Error> {
    let mode = options.get_ssl_mode();
    if matches!(
        mode,
        PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull
    ) || is_local(options)
    {
        return Ok(());
    }
    let named = match mode {
        PgSslMode::Disable => "sslmode=disable",
        PgSslMode::Allow => "sslmode=allow",
        _ => "sslmode=prefer (the default when the URL names none)",
    };
    Err(Error::usage(
        "--store",
        format!(
            "{named} with `{AUTH_PARAMETER}` to {}: the access token would be sent to the server in clear if it does not offer TLS",
            options.get_host()
        ),
        "add sslmode=verify-full to the store URL (Azure Database for PostgreSQL requires TLS anyway)",
    ))
}

fn is_local(options: &PgConnectOptions) -> bool {
    if options.get_socket().is_some() {
        return true;
    }
    let host = options.get_host();
    // The driver takes a host starting with `/` as a Unix socket directory.
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The URL's passwords and every token handed out, scrubbed from driver and credential errors.
pub type Secrets = Arc<RwLock<Vec<String>>>;

/// Tokens kept for scrubbing: the current one and the one before, which connections opened
/// earlier still authenticated with.
const TOKENS_KEPT: usize = 2;

/// Signs in for one store: the credential, and the scope its tokens are for.
pub struct Signer {
    auth: EntraAuth,
    credential: Arc<dyn TokenCredential>,
    /// The redacted URL, for messages.
    place: PathBuf,
    secrets: Secrets,
    url_secrets: usize,
}

/// A token and when it expires.
pub struct Token {
    pub secret: String,
    pub expires_on: time::OffsetDateTime,
}

impl Signer {
    /// The credential `auth.kind` names, configured from the environment as `--auth` is.
    pub fn new(auth: EntraAuth, place: PathBuf, secrets: Secrets) -> Result<Signer, Error> {
        let endpoints = Endpoints::resolve(auth.cloud, None, None, None).map_err(|e| {
            Error::usage(
                "--store",
                e,
                "set AZURE_AUTHORITY_HOST to a URL, or unset it",
            )
        })?;
        let credential = credential(auth.kind, &endpoints).map_err(|e| {
            Error::usage(
                "--store",
                format!("{AUTH_PARAMETER} in the store URL: {e}"),
                "set what the credential needs (docs/nightly-history.md#microsoft-entra-authentication), or pick another azure_auth",
            )
        })?;
        let url_secrets = secrets.read().map(|s| s.len()).unwrap_or(0);
        Ok(Signer {
            auth,
            credential,
            place,
            secrets,
            url_secrets,
        })
    }

    /// A fresh token (not one the credential cached: a refresh must extend the expiry). The
    /// token joins the secrets before anything can print it.
    pub async fn token(&self) -> Result<Token, String> {
        // Only caches are cleared; a credential without one has nothing to fail at.
        let _ = self.credential.clear_cache().await;
        let token = self
            .credential
            .get_token(&[self.auth.scope()])
            .await
            .map_err(|e| scrub(&e.to_string(), &self.secrets))?;
        let secret = token.token.secret().to_string();
        if let Ok(mut secrets) = self.secrets.write() {
            secrets.push(secret.clone());
            let tokens = secrets.len() - self.url_secrets;
            if tokens > TOKENS_KEPT {
                let first = self.url_secrets;
                secrets.drain(first..first + tokens - TOKENS_KEPT);
            }
        }
        Ok(Token {
            secret,
            expires_on: token.expires_on,
        })
    }

    /// The first token, for opening the store: a failure is the command's error.
    pub async fn first_token(&self) -> Result<Token, Error> {
        self.token().await.map_err(|e| {
            Error::runtime(
                &self.place,
                format!(
                    "cannot get a Microsoft Entra token for the store ({AUTH_PARAMETER}={}, scope {}): {e}",
                    kind_name(self.auth.kind),
                    self.auth.scope()
                ),
                "check that the identity can sign in here (managed identity attached, az login, or the service principal's variables)",
            )
        })
    }

    /// Runs until the task is aborted (the store dropped): before each token expires, fetches
    /// the next and makes it the password of the connections the pool opens from then on. A
    /// failure is retried with backoff while the current token still lasts, and after.
    pub async fn keep_fresh(
        self,
        pool: PgPool,
        options: PgConnectOptions,
        mut expires_on: time::OffsetDateTime,
    ) {
        loop {
            tokio::time::sleep(refresh_delay(expires_on - time::OffsetDateTime::now_utc())).await;
            let mut backoff = Duration::from_secs(1);
            loop {
                match self.token().await {
                    Ok(token) => {
                        pool.set_connect_options(options.clone().password(&token.secret));
                        expires_on = token.expires_on;
                        tracing::info!(
                            store = %self.place.display(),
                            expires_in_seconds = (expires_on - time::OffsetDateTime::now_utc()).whole_seconds(),
                            "store access token refreshed"
                        );
                        break;
                    }
                    Err(problem) => {
                        let left = (expires_on - time::OffsetDateTime::now_utc()).whole_seconds();
                        tracing::warn!(
                            store = %self.place.display(),
                            error = %problem,
                            retry_in_seconds = backoff.as_secs(),
                            token_expires_in_seconds = left,
                            "cannot refresh the store's access token; new connections fail once it expires"
                        );
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(60));
                    }
                }
            }
        }
    }
}

/// How long to wait before refreshing a token with `remaining` lifetime: 80% of it, so an hour's
/// token is replaced with 12 minutes to spare. At least a second: a credential that hands out
/// tokens already expired (or about to) must not make this a busy loop.
pub fn refresh_delay(remaining: time::Duration) -> Duration {
    let remaining = Duration::try_from(remaining).unwrap_or(Duration::ZERO);
    (remaining * 4 / 5).max(Duration::from_secs(1))
}

/// `text` with every occurrence of a secret replaced.
pub fn scrub(text: &str, secrets: &Secrets) -> String {
    match secrets.read() {
        Ok(secrets) => secrets.iter().fold(text.to_string(), |text, secret| {
            text.replace(secret.as_str(), "***")
        }),
        // A writer panicked midway: nothing shown is safer than a token shown.
        Err(_) => "(error text withheld)".to_string(),
    }
}

fn kind_name(kind: AuthKind) -> String {
    kind.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn refused(url: &str) -> String {
        let error = split(url).unwrap_err();
        assert!(matches!(error, Error::Usage(_)), "{url}");
        let detail = error.detail();
        format!("{} {}", detail.problem, detail.fix)
    }

    #[test]
    fn the_parameters_are_taken_out_and_the_rest_kept() {
        let (url, auth) = split(
            "postgres://id-bd@srv.postgres.database.azure.com/bd?sslmode=verify-full&azure_auth=managed-identity&azure_cloud=usgov",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://id-bd@srv.postgres.database.azure.com/bd?sslmode=verify-full"
        );
        let auth = auth.unwrap();
        assert_eq!(auth.kind, AuthKind::ManagedIdentity);
        assert_eq!(
            auth.scope(),
            "https://ossrdbms-aad.database.usgovcloudapi.net/.default"
        );

        let (url, auth) = split("postgres://u@h/bd?azure_auth=cli").unwrap();
        assert_eq!(url, "postgres://u@h/bd");
        assert_eq!(
            auth.unwrap().scope(),
            "https://ossrdbms-aad.database.windows.net/.default"
        );

        let plain = "postgres://u:pw@h/bd?sslmode=require";
        assert_eq!(split(plain).unwrap(), (plain.to_string(), None));
    }

    #[test]
    fn bad_parameters_are_usage_errors_naming_them() {
        let text = refused("postgres://u:hunter2@h/bd?azure_auth=managed-identity");
        assert!(
            text.contains("azure_auth") && text.contains("remove the password"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        let text = refused("postgres://u@h/bd?password=hunter2&azure_auth=cli");
        assert!(text.contains("azure_auth"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");

        let text = refused("postgres://u@h/bd?azure_auth=token");
        assert!(text.contains("azure_auth=token"), "{text}");
        assert!(
            text.contains("managed-identity") && text.contains("workload"),
            "{text}"
        );
        let text = refused("postgres://u@h/bd?azure_auth=cli&azure_cloud=mars");
        assert!(text.contains("public, usgov, china"), "{text}");
        let text = refused("postgres://u@h/bd?azure_cloud=china");
        assert!(text.contains("without `azure_auth`"), "{text}");
    }

    fn tls(url: &str) -> Result<(), Error> {
        require_tls(&PgConnectOptions::from_str(url).unwrap())
    }

    #[test]
    fn a_token_needs_tls_unless_the_server_is_this_machine() {
        for url in [
            "postgres://u@db.example/bd?sslmode=disable",
            "postgres://u@db.example/bd?sslmode=allow",
            "postgres://u@db.example/bd?sslmode=prefer",
            "postgres://u@10.0.0.4/bd",
        ] {
            let error = tls(url).unwrap_err();
            let detail = error.detail();
            assert!(matches!(error, Error::Usage(_)), "{url}");
            assert!(detail.fix.contains("sslmode=verify-full"), "{url}");
        }
        for url in [
            "postgres://u@db.example/bd?sslmode=require",
            "postgres://u@db.example/bd?sslmode=verify-ca",
            "postgres://u@db.example/bd?sslmode=verify-full",
            "postgres://u@127.0.0.1:5433/bd?sslmode=disable",
            "postgres://u@localhost/bd?sslmode=disable",
            "postgres://u@[::1]/bd?sslmode=disable",
            "postgres://u@db.example/bd?host=/var/run/postgresql&sslmode=disable",
        ] {
            assert!(tls(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn refreshes_come_at_four_fifths_of_the_lifetime_and_never_in_a_busy_loop() {
        let s = time::Duration::seconds;
        assert_eq!(refresh_delay(s(3600)), Duration::from_secs(2880));
        assert_eq!(refresh_delay(s(5)), Duration::from_secs(4));
        assert_eq!(refresh_delay(s(1)), Duration::from_secs(1));
        assert_eq!(
            refresh_delay(time::Duration::milliseconds(300)),
            Duration::from_secs(1)
        );
        assert_eq!(refresh_delay(s(-10)), Duration::from_secs(1));
    }

    #[test]
    fn scrubbing_replaces_every_secret() {
        let secrets: Secrets = Arc::new(RwLock::new(vec!["tok-1".into(), "pw".into()]));
        assert_eq!(scrub("a tok-1 b pw", &secrets), "a *** b ***");
    }
}
