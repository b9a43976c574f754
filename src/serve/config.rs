//! `serve --config FILE`: the TOML configuration, with every key also settable from the
//! environment (`BACKUP_DOCTOR_<SECTION>_<KEY>`, docs/serve.md#configuration), checked whole
//! before the service starts: an unknown key, a wrong type or a value that cannot work is an
//! error naming the key, the file (or variable) and the fix.

use crate::auth::AuthSettings;
use crate::commands::scan::export::LogAnalyticsOptions;
use crate::commands::{Judging, LiveSource};
use crate::error::{Error, InputError};
use crate::export::{LogAnalytics, Setting};
use crate::live::auth::{AuthKind, Cloud};
use crate::store::StoreTarget;
use chrono_tz::Tz;
use croner::Cron;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Environment variables start with this, then the key path joined by `_`, upper-cased.
pub const ENV_PREFIX: &str = "BACKUP_DOCTOR_";

/// Every key of the file, with the shape its environment variable's text is read as.
const KEYS: &[(&str, Shape)] = &[
    ("listen", Shape::Text),
    ("store", Shape::Text),
    ("log_format", Shape::Text),
    ("max_body_bytes", Shape::Integer),
    ("auth.disabled", Shape::Bool),
    ("auth.tenant_id", Shape::Text),
    ("auth.authority", Shape::Text),
    ("auth.audience", Shape::List),
    ("auth.reader_role", Shape::Text),
    ("auth.operator_role", Shape::Text),
    ("auth.jwks_cache_seconds", Shape::Integer),
    ("open.health", Shape::Bool),
    ("open.metrics", Shape::Bool),
    ("schedule.cron", Shape::Text),
    ("schedule.time_zone", Shape::Text),
    ("schedule.lease_seconds", Shape::Integer),
    ("schedule.overdue_hours", Shape::Integer),
    ("live.subscriptions", Shape::List),
    ("live.management_groups", Shape::List),
    ("live.auth", Shape::Text),
    ("live.cloud", Shape::Text),
    ("live.arm_endpoint", Shape::Text),
    ("live.graph_endpoint", Shape::Text),
    ("live.concurrency", Shape::Integer),
    ("live.deadline_seconds", Shape::Integer),
    ("live.job_window_days", Shape::Integer),
    ("live.backup_service_object_id", Shape::Text),
    ("live.rules", Shape::List),
    ("check.cache_seconds", Shape::Integer),
    ("check.max_vms", Shape::Integer),
    ("check.policy", Shape::Text),
    ("check.vault", Shape::Text),
    ("export.log_analytics.endpoint", Shape::Text),
    ("export.log_analytics.dcr", Shape::Text),
];

#[derive(Clone, Copy)]
enum Shape {
    Text,
    Bool,
    Integer,
    /// Comma-separated in the environment.
    List,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    store: Option<String>,
    log_format: Option<String>,
    max_body_bytes: Option<u64>,
    #[serde(default)]
    auth: AuthFile,
    #[serde(default)]
    open: OpenFile,
    schedule: Option<ScheduleFile>,
    #[serde(default)]
    live: LiveFile,
    #[serde(default)]
    check: CheckFile,
    #[serde(default)]
    export: ExportFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    disabled: Option<bool>,
    tenant_id: Option<String>,
    authority: Option<String>,
    audience: Option<Vec<String>>,
    reader_role: Option<String>,
    operator_role: Option<String>,
    jwks_cache_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenFile {
    health: Option<bool>,
    metrics: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    cron: Option<String>,
    time_zone: Option<String>,
    lease_seconds: Option<u64>,
    overdue_hours: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LiveFile {
    subscriptions: Option<Vec<String>>,
    management_groups: Option<Vec<String>>,
    auth: Option<String>,
    cloud: Option<String>,
    arm_endpoint: Option<String>,
    graph_endpoint: Option<String>,
    concurrency: Option<u64>,
    deadline_seconds: Option<u64>,
    job_window_days: Option<i64>,
    backup_service_object_id: Option<String>,
    rules: Option<Vec<PathBuf>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    cache_seconds: Option<u64>,
    max_vms: Option<u64>,
    policy: Option<String>,
    vault: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportFile {
    log_analytics: Option<LogAnalyticsFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogAnalyticsFile {
    endpoint: Option<String>,
    dcr: Option<String>,
}

/// The service's settings, checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file read, for messages.
    pub file: PathBuf,
    pub listen: SocketAddr,
    pub store: StoreTarget,
    pub log_json: bool,
    pub max_body_bytes: usize,
    /// `None`: authentication is off (loopback only).
    pub auth: Option<AuthSettings>,
    pub open_health: bool,
    pub open_metrics: bool,
    pub schedule: Option<Schedule>,
    pub live: LiveSource,
    pub judging: Judging,
    pub job_window_days: i64,
    pub check: CheckSettings,
    /// Where each recorded scan is exported (`[export.log_analytics]`), signed in with the
    /// `[live]` credential.
    pub export: Option<LogAnalyticsOptions>,
}

/// When scheduled scans run.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub cron: Cron,
    pub time_zone: Tz,
    /// How long the scan lease lives without renewal (a dead holder's lease expires after it).
    pub lease: Duration,
    /// `/readyz` fails when the latest scheduled scan is older than the previous slot by more.
    pub overdue: Duration,
}

#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// How long a subscription's live read answers checks.
    pub cache_ttl: Duration,
    /// The most VMs one `POST /v1/check` may name.
    pub max_vms: usize,
    pub policy: String,
    pub vault: Option<String>,
}

/// Reads `path`, lays the `BACKUP_DOCTOR_…` variables of `env` over it and checks the result.
pub fn load(path: &Path, env: &[(String, String)]) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Input(InputError::new(
            path,
            None,
            format!("cannot read the configuration: {e}"),
            "give the path of a readable TOML file to --config",
        ))
    })?;
    parse(path, &text, env)
}

/// The configuration in `text` (read from `path`) with `env` laid over it.
pub fn parse(path: &Path, text: &str, env: &[(String, String)]) -> Result<Config, Error> {
    let bad = |problem: String, fix: &str| Error::Input(InputError::new(path, None, problem, fix));
    let mut table: toml::Table = toml::from_str(text).map_err(|e| {
        bad(
            format!("not valid TOML: {e}"),
            "fix the TOML syntax at the place named",
        )
    })?;
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let Some((key, shape)) = KEYS
            .iter()
            .find(|(key, _)| key.replace('.', "_").eq_ignore_ascii_case(rest))
        else {
            // Other tools of the project read BACKUP_DOCTOR_… variables too (the tests'
            // BACKUP_DOCTOR_TEST_POSTGRES); a variable is only an error when it means a key.
            continue;
        };
        let parsed = env_value(*shape, value).map_err(|problem| {
            Error::Input(InputError::new(
                Path::new(name),
                None,
                format!("environment variable for `{key}`: {problem}"),
                "fix or unset the variable",
            ))
        })?;
        set(&mut table, key, parsed);
    }
    let file: File = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner().to_string();
        let inner = inner.lines().next().unwrap_or_default().to_string();
        if inner.starts_with("unknown field") {
            // The path already ends with the unknown key; at the top level it may be empty.
            let unknown = if key.is_empty() || key == "." {
                inner.split('`').nth(1).unwrap_or_default().to_string()
            } else {
                key.clone()
            };
            bad(
                format!("unknown key `{unknown}`"),
                "remove it or correct its spelling; docs/serve.md#configuration lists the keys",
            )
        } else {
            bad(
                format!("key `{key}`: {inner}"),
                "give the value the type docs/serve.md#configuration says",
            )
        }
    })?;
    check(path, file)
}

/// The environment's text as the TOML value of a key of `shape`.
fn env_value(shape: Shape, text: &str) -> Result<toml::Value, String> {
    Ok(match shape {
        Shape::Text => toml::Value::String(text.to_string()),
        Shape::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => toml::Value::Boolean(true),
            "false" | "0" | "no" => toml::Value::Boolean(false),
            _ => return Err(format!("`{text}` is not true or false")),
        },
        Shape::Integer => toml::Value::Integer(
            text.trim()
                .parse()
                .map_err(|_| format!("`{text}` is not a whole number"))?,
        ),
        Shape::List => toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| toml::Value::String(item.to_string()))
                .collect(),
        ),
    })
}

/// Sets the dotted `key` in `table`, creating its section.
fn set(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_string(), value);
        }
        Some((section, rest)) => {
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set(inner, rest, value);
            }
        }
    }
}

fn check(path: &Path, file: File) -> Result<Config, Error> {
    let bad = |key: &str, problem: String, fix: &str| {
        Error::Input(InputError::new(
            path,
            None,
            format!("key `{key}`: {problem}"),
            fix,
        ))
    };
    let listen_text = file.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        bad(
            "listen",
            format!("`{listen_text}` is not an address and port"),
            "write it like 0.0.0.0:8080 or 127.0.0.1:8080",
        )
    })?;
    let store_text = file.store.unwrap_or_else(|| "backup-doctor.sqlite".into());
    if store_text.trim().is_empty() {
        return Err(bad(
            "store",
            "is empty".into(),
            "give a SQLite file path or a postgres:// URL",
        ));
    }
    let store = StoreTarget::parse(&store_text);
    let log_json = match file.log_format.as_deref().unwrap_or("text") {
        "text" => false,
        "json" => true,
        other => {
            return Err(bad(
                "log_format",
                format!("`{other}` is not a log format"),
                "write text or json",
            ))
        }
    };
    let auth = auth_settings(path, &file.auth, listen)?;
    let schedule = file
        .schedule
        .map(|schedule| schedule_settings(path, schedule))
        .transpose()?;
    let live = &file.live;
    let auth_kind = match &live.auth {
        None => AuthKind::Default,
        Some(text) => clap::ValueEnum::from_str(text, true).map_err(|_| {
            bad(
                "live.auth",
                format!("`{text}` is not a credential kind"),
                "write default, secret, certificate, workload, managed-identity or cli",
            )
        })?,
    };
    let cloud = match &live.cloud {
        None => Cloud::Public,
        Some(text) => clap::ValueEnum::from_str(text, true).map_err(|_| {
            bad(
                "live.cloud",
                format!("`{text}` is not a cloud"),
                "write public, usgov or china (or give live.arm_endpoint)",
            )
        })?,
    };
    for (key, value) in [
        ("live.arm_endpoint", &live.arm_endpoint),
        ("live.graph_endpoint", &live.graph_endpoint),
    ] {
        if let Some(url) = value {
            if url::Url::parse(url).is_err() {
                return Err(bad(
                    key,
                    format!("`{url}` is not a URL"),
                    "give a full https:// URL",
                ));
            }
        }
    }
    let management_groups = live.management_groups.clone().unwrap_or_default();
    for group in &management_groups {
        crate::commands::check_management_group(group).map_err(|error| {
            let detail = error.detail();
            bad(
                "live.management_groups",
                detail.problem.clone(),
                &detail.fix,
            )
        })?;
    }
    let concurrency = live.concurrency.unwrap_or(16);
    if !(1..=256).contains(&concurrency) {
        return Err(bad(
            "live.concurrency",
            format!("{concurrency} is out of range"),
            "give 1 to 256",
        ));
    }
    let job_window_days = live.job_window_days.unwrap_or(7);
    if !(1..=90).contains(&job_window_days) {
        return Err(bad(
            "live.job_window_days",
            format!("{job_window_days} is out of range"),
            "give 1 to 90",
        ));
    }
    let check = &file.check;
    let cache_seconds = check.cache_seconds.unwrap_or(120);
    if cache_seconds > 3600 {
        return Err(bad(
            "check.cache_seconds",
            format!("{cache_seconds} s would answer readiness from an hour-old read"),
            "give 0 to 3600 (120 is the default)",
        ));
    }
    let max_vms = check.max_vms.unwrap_or(50);
    if !(1..=1000).contains(&max_vms) {
        return Err(bad(
            "check.max_vms",
            format!("{max_vms} is out of range"),
            "give 1 to 1000",
        ));
    }
    let max_body_bytes = file.max_body_bytes.unwrap_or(64 * 1024);
    if !(1024..=16 * 1024 * 1024).contains(&max_body_bytes) {
        return Err(bad(
            "max_body_bytes",
            format!("{max_body_bytes} is out of range"),
            "give 1024 to 16777216",
        ));
    }
    let export = match &file.export.log_analytics {
        None => None,
        Some(section) => {
            let key = |setting| match setting {
                Setting::Endpoint => "export.log_analytics.endpoint",
                Setting::Dcr => "export.log_analytics.dcr",
            };
            let given = |setting, value: &Option<String>| {
                value
                    .clone()
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| {
                        bad(
                            key(setting),
                            "is missing".into(),
                            "give the data collection endpoint's URL and the rule's immutable id \
                         (docs/deploy/log-analytics.md), or remove [export.log_analytics]",
                        )
                    })
            };
            let endpoint = given(Setting::Endpoint, &section.endpoint)?;
            let dcr = given(Setting::Dcr, &section.dcr)?;
            LogAnalytics::new(&endpoint, &dcr, cloud)
                .map_err(|problem| bad(key(problem.setting), problem.problem, &problem.fix))?;
            Some(LogAnalyticsOptions {
                endpoint,
                dcr,
                auth: auth_kind,
                cloud,
            })
        }
    };
    Ok(Config {
        export,
        file: path.to_path_buf(),
        listen,
        store,
        log_json,
        max_body_bytes: max_body_bytes as usize,
        auth,
        open_health: file.open.health.unwrap_or(true),
        open_metrics: file.open.metrics.unwrap_or(false),
        schedule,
        live: LiveSource {
            subscriptions: live.subscriptions.clone().unwrap_or_default(),
            management_groups,
            auth: auth_kind,
            cloud,
            arm_endpoint: live.arm_endpoint.clone(),
            graph_endpoint: live.graph_endpoint.clone(),
            concurrency: concurrency as usize,
            deadline: Duration::from_secs(live.deadline_seconds.unwrap_or(1800)),
            call_timeout: crate::live::transport::DEFAULT_CALL_TIMEOUT,
            progress_bars: false,
        },
        judging: Judging {
            rule_dirs: live.rules.clone().unwrap_or_default(),
            backup_service_object_id: live.backup_service_object_id.clone(),
        },
        job_window_days,
        check: CheckSettings {
            cache_ttl: Duration::from_secs(cache_seconds),
            max_vms: max_vms as usize,
            policy: check.policy.clone().unwrap_or_else(|| "standard".into()),
            vault: check.vault.clone(),
        },
    })
}

fn auth_settings(
    path: &Path,
    auth: &AuthFile,
    listen: SocketAddr,
) -> Result<Option<AuthSettings>, Error> {
    let bad = |key: &str, problem: String, fix: &str| {
        Error::Input(InputError::new(
            path,
            None,
            format!("key `{key}`: {problem}"),
            fix,
        ))
    };
    if auth.disabled == Some(true) {
        if !listen.ip().is_loopback() {
            return Err(bad(
                "auth.disabled",
                format!(
                    "authentication can be off only on a loopback address, and listen is {listen}"
                ),
                "listen on 127.0.0.1 (or ::1), or configure [auth] with tenant_id and audience",
            ));
        }
        return Ok(None);
    }
    let tenant_id = auth.tenant_id.clone().unwrap_or_default();
    if tenant_id.trim().is_empty() {
        return Err(bad(
            "auth.tenant_id",
            "is missing".into(),
            "give the Entra ID tenant whose tokens the API accepts (or auth.disabled = true on a loopback listen address)",
        ));
    }
    let audience = auth.audience.clone().unwrap_or_default();
    if audience.is_empty() {
        return Err(bad(
            "auth.audience",
            "is missing".into(),
            "give the application ID URI and/or client id tokens are issued for, e.g. [\"api://backup-doctor\"]",
        ));
    }
    let authority = auth
        .authority
        .clone()
        .unwrap_or_else(|| "https://login.microsoftonline.com".into());
    match url::Url::parse(&authority) {
        Ok(url) if url.scheme() == "https" || url.host_str().is_some_and(is_loopback_host) => {}
        _ => {
            return Err(bad(
                "auth.authority",
                format!("`{authority}` is not an https URL"),
                "give the authority host, e.g. https://login.microsoftonline.com",
            ))
        }
    }
    let settings = AuthSettings {
        tenant_id,
        authority: authority.trim_end_matches('/').to_string(),
        audience,
        reader_role: auth
            .reader_role
            .clone()
            .unwrap_or_else(|| "BackupDoctor.Read".into()),
        operator_role: auth
            .operator_role
            .clone()
            .unwrap_or_else(|| "BackupDoctor.Operate".into()),
        jwks_cache: Duration::from_secs(auth.jwks_cache_seconds.unwrap_or(3600)),
    };
    settings.validate().map_err(|problem| {
        bad(
            "auth",
            problem,
            "fix the [auth] keys (docs/serve.md#authentication)",
        )
    })?;
    Ok(Some(settings))
}

/// Plain http is accepted for an authority on this machine only (the emulator in tests).
fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn schedule_settings(path: &Path, schedule: ScheduleFile) -> Result<Schedule, Error> {
    let bad = |key: &str, problem: String, fix: &str| {
        Error::Input(InputError::new(
            path,
            None,
            format!("key `{key}`: {problem}"),
            fix,
        ))
    };
    let text = schedule.cron.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(bad(
            "schedule.cron",
            "is missing".into(),
            "give a cron expression like \"0 2 * * *\" (02:00 every night), or remove [schedule]",
        ));
    }
    let cron = Cron::from_str(&text).map_err(|e| {
        bad(
            "schedule.cron",
            format!("`{text}` is not a cron expression: {e}"),
            "write five fields (minute hour day month weekday), e.g. \"0 2 * * *\"",
        )
    })?;
    let zone_text = schedule.time_zone.unwrap_or_else(|| "UTC".into());
    let time_zone: Tz = zone_text.parse().map_err(|_| {
        bad(
            "schedule.time_zone",
            format!("`{zone_text}` is not an IANA time zone"),
            "write UTC or a name like Europe/Amsterdam",
        )
    })?;
    let lease_seconds = schedule.lease_seconds.unwrap_or(120);
    if !(10..=3600).contains(&lease_seconds) {
        return Err(bad(
            "schedule.lease_seconds",
            format!("{lease_seconds} is out of range"),
            "give 10 to 3600",
        ));
    }
    Ok(Schedule {
        cron,
        time_zone,
        lease: Duration::from_secs(lease_seconds),
        overdue: Duration::from_secs(schedule.overdue_hours.unwrap_or(6) * 3600),
    })
}

/// The environment variable that sets `key`.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "_").to_ascii_uppercase())
}

/// Every key, for the guide's table and its test.
pub fn keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|(key, _)| *key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str, env: &[(&str, &str)]) -> Result<Config, Error> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(Path::new("serve.toml"), text, &env)
    }

    const MINIMAL: &str = "[auth]\ntenant_id = \"t\"\naudience = [\"api://bd\"]\n";

    #[test]
    fn an_unknown_key_is_named_with_its_section_and_the_file() {
        let error = parse_ok(&format!("{MINIMAL}colour = 1\n"), &[]).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("unknown key `auth.colour`"), "{text}");
        assert!(text.contains("serve.toml"), "{text}");
        let error = parse_ok("lissen = \"x\"\n[auth]\ndisabled = true\n", &[]).unwrap_err();
        assert!(
            error.to_string().contains("unknown key `lissen`"),
            "{error}"
        );
    }

    #[test]
    fn the_environment_overrides_the_file_with_typed_values() {
        let config = parse_ok(
            MINIMAL,
            &[
                ("BACKUP_DOCTOR_LISTEN", "127.0.0.1:9999"),
                ("BACKUP_DOCTOR_LIVE_SUBSCRIPTIONS", "a, b"),
                ("BACKUP_DOCTOR_OPEN_METRICS", "true"),
                ("BACKUP_DOCTOR_CHECK_CACHE_SECONDS", "30"),
                ("BACKUP_DOCTOR_TEST_POSTGRES", "ignored: not a key"),
            ],
        )
        .unwrap();
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.live.subscriptions, ["a", "b"]);
        assert!(config.open_metrics);
        assert_eq!(config.check.cache_ttl, Duration::from_secs(30));
        let error = parse_ok(MINIMAL, &[("BACKUP_DOCTOR_OPEN_METRICS", "maybe")]).unwrap_err();
        assert!(
            error.to_string().contains("BACKUP_DOCTOR_OPEN_METRICS"),
            "{error}"
        );
    }

    #[test]
    fn management_groups_come_from_the_file_or_the_environment_and_bad_ids_name_the_key() {
        let config = parse_ok(
            &format!("{MINIMAL}[live]\nmanagement_groups = [\"platform\", \"corp-(eu)\"]\n"),
            &[],
        )
        .unwrap();
        assert_eq!(config.live.management_groups, ["platform", "corp-(eu)"]);
        assert!(config.live.subscriptions.is_empty());
        let config = parse_ok(
            MINIMAL,
            &[("BACKUP_DOCTOR_LIVE_MANAGEMENT_GROUPS", "platform, landing")],
        )
        .unwrap();
        assert_eq!(config.live.management_groups, ["platform", "landing"]);
        let error = parse_ok(
            &format!("{MINIMAL}[live]\nmanagement_groups = [\"a/../b\"]\n"),
            &[],
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("live.management_groups"), "{text}");
        assert!(text.contains("a/../b"), "{text}");
    }

    #[test]
    fn authentication_is_off_only_on_loopback() {
        let error =
            parse_ok("listen = \"0.0.0.0:8080\"\n[auth]\ndisabled = true\n", &[]).unwrap_err();
        assert!(error.to_string().contains("auth.disabled"), "{error}");
        let config = parse_ok("listen = \"[::1]:8080\"\n[auth]\ndisabled = true\n", &[]).unwrap();
        assert!(config.auth.is_none());
        let error = parse_ok("[auth]\ntenant_id = \"t\"\n", &[]).unwrap_err();
        assert!(error.to_string().contains("auth.audience"), "{error}");
    }

    #[test]
    fn a_bad_schedule_names_the_key() {
        for (text, key) in [
            ("[schedule]\ncron = \"every night\"\n", "schedule.cron"),
            (
                "[schedule]\ncron = \"0 2 * * *\"\ntime_zone = \"Mars/Olympus\"\n",
                "schedule.time_zone",
            ),
        ] {
            let error = parse_ok(&format!("{MINIMAL}{text}"), &[]).unwrap_err();
            assert!(error.to_string().contains(key), "{error}");
        }
        let config = parse_ok(
            &format!(
                "{MINIMAL}[schedule]\ncron = \"0 2 * * *\"\ntime_zone = \"Europe/Amsterdam\"\n"
            ),
            &[],
        )
        .unwrap();
        assert_eq!(
            config.schedule.unwrap().time_zone,
            chrono_tz::Europe::Amsterdam
        );
    }

    #[test]
    fn the_log_analytics_export_is_read_checked_and_overridden_by_the_environment() {
        const DCR: &str = "dcr-00112233445566778899aabbccddeeff";
        let section = format!(
            "[export.log_analytics]\nendpoint = \"https://dce.westeurope-1.ingest.monitor.azure.com\"\ndcr = \"{DCR}\"\n"
        );
        let config = parse_ok(
            &format!("{MINIMAL}[live]\nauth = \"secret\"\n{section}"),
            &[],
        )
        .unwrap();
        let export = config.export.unwrap();
        assert_eq!(export.dcr, DCR);
        assert_eq!(export.auth, AuthKind::Secret);
        assert!(parse_ok(MINIMAL, &[]).unwrap().export.is_none());
        let config = parse_ok(
            &format!("{MINIMAL}{section}"),
            &[(
                "BACKUP_DOCTOR_EXPORT_LOG_ANALYTICS_ENDPOINT",
                "http://127.0.0.1:9",
            )],
        )
        .unwrap();
        assert_eq!(config.export.unwrap().endpoint, "http://127.0.0.1:9");
        for (text, named) in [
            (
                "[export.log_analytics]\nendpoint = \"http://dce.example\"\ndcr = \"dcr-00112233445566778899aabbccddeeff\"\n",
                "export.log_analytics.endpoint",
            ),
            (
                "[export.log_analytics]\nendpoint = \"https://dce.example\"\ndcr = \"my-rule\"\n",
                "export.log_analytics.dcr",
            ),
            (
                "[export.log_analytics]\nendpoint = \"https://dce.example\"\n",
                "export.log_analytics.dcr",
            ),
            (
                "[export.log_analytics]\nendpoint = \"https://dce.example\"\ndcr = \"dcr-00112233445566778899aabbccddeeff\"\nstream = \"x\"\n",
                "unknown key `export.log_analytics.stream`",
            ),
            ("[export.splunk]\n", "unknown key `export.splunk`"),
        ] {
            let error = parse_ok(&format!("{MINIMAL}{text}"), &[]).unwrap_err();
            assert!(error.to_string().contains(named), "{text}: {error}");
        }
    }

    #[test]
    fn every_key_has_a_field() {
        // A key in KEYS that the structs lack would make its variable an "unknown key" error.
        for key in keys() {
            let env = vec![(env_name(key), "1".to_string())];
            if let Err(error) = parse(Path::new("serve.toml"), MINIMAL, &env) {
                assert!(!error.to_string().contains("unknown key"), "{key}: {error}");
            }
        }
    }
}
