//! The PostgreSQL store (`--store postgres://…`): the SQLite store's schema and answers in a
//! database a team already runs (Azure Database for PostgreSQL), through sqlx's pool. The URL's
//! password, or the Entra access token `?azure_auth=` fetches in its place (`entra`), never
//! leaves this module: every message names the store by its redacted URL, and driver errors are
//! scrubbed of the password and tokens before they are shown.

pub mod entra;
pub mod lease;
pub mod read;
pub mod schema;
pub mod write;

use crate::error::{Error, InputError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Executor;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub struct Postgres {
    pub pool: PgPool,
    place: PathBuf,
    /// The URL's password as written and decoded, and the access tokens in use, scrubbed from
    /// every driver error.
    secrets: entra::Secrets,
    /// The task refreshing the access token (`azure_auth`): it holds the pool, so it ends with
    /// the store.
    refresher: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(task) = self.refresher.take() {
            task.abort();
        }
    }
}

/// Why a database cannot be used as a store.
enum SchemaError {
    /// Tables of these names without our version table, or a version table of another program.
    Foreign,
    Newer(i64),
    /// `open_existing` on a database without a store.
    NoStore,
    Sql(sqlx::Error),
}

impl From<sqlx::Error> for SchemaError {
    fn from(error: sqlx::Error) -> Self {
        SchemaError::Sql(error)
    }
}

impl Postgres {
    /// Connects, and migrates (with `create`, creating the tables) up to `target`.
    pub async fn open(
        url: &str,
        place: &Path,
        create: bool,
        target: i64,
    ) -> Result<Postgres, Error> {
        let (url, auth) = entra::split(url)?;
        let secrets: entra::Secrets = Arc::new(RwLock::new(secrets_of(&url)));
        let place = place.to_path_buf();
        let options = PgConnectOptions::from_str(&url).map_err(|e| {
            Error::usage(
                "--store",
                format!(
                    "{} is not a PostgreSQL URL the driver accepts: {}",
                    place.display(),
                    entra::scrub(&e.to_string(), &secrets)
                ),
                "write it as postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require",
            )
        })?;
        let options = options.application_name("backup-doctor");
        // Checked before the first token is fetched: a refused URL costs no sign-in.
        let signer = match auth {
            Some(auth) => {
                entra::require_tls(&options)?;
                Some(entra::Signer::new(auth, place.clone(), secrets.clone())?)
            }
            None => None,
        };
        let (connect, first_token) = match &signer {
            Some(signer) => {
                let token = signer.first_token().await?;
                (options.clone().password(&token.secret), Some(token))
            }
            None => (options.clone(), None),
        };
        let fix = if signer.is_some() {
            "check the host, port, database and user in the URL (the user is the Entra identity's name as the server knows it), that the identity is a role on the server, that the server accepts this client (firewall), and sslmode"
        } else {
            "check the host, port, database, user and password in the URL, that the server accepts this client (firewall, pg_hba), and sslmode"
        };
        let pool = PgPoolOptions::new()
            // A nightly scan writes on one connection; the service reads on a few more.
            .max_connections(8)
            // An unreachable server is an error within seconds, not a hang.
            .acquire_timeout(Duration::from_secs(15))
            .connect_with(connect)
            .await
            .map_err(|e| {
                Error::runtime(
                    &place,
                    format!(
                        "cannot connect to the store: {}",
                        entra::scrub(&e.to_string(), &secrets)
                    ),
                    fix,
                )
            })?;
        let refresher = match (signer, first_token) {
            (Some(signer), Some(token)) => Some(tokio::spawn(signer.keep_fresh(
                pool.clone(),
                options,
                token.expires_on,
            ))),
            _ => None,
        };
        let store = Postgres {
            pool,
            place,
            secrets,
            refresher,
        };
        store
            .migrate(create, target)
            .await
            .map_err(|e| store.schema_error(e))?;
        Ok(store)
    }

    /// Awaits `work`; a driver error becomes "cannot `what`" naming the store, password scrubbed.
    pub async fn run<T>(
        &self,
        what: &str,
        work: impl std::future::Future<Output = sqlx::Result<T>>,
    ) -> Result<T, Error> {
        work.await.map_err(|e| self.failure(what, e))
    }

    /// The driver's error as "cannot `what`", password scrubbed.
    pub fn failure(&self, what: &str, error: sqlx::Error) -> Error {
        super::failure(
            &self.place,
            what,
            entra::scrub(&error.to_string(), &self.secrets),
        )
    }

    async fn migrate(&self, create: bool, target: i64) -> Result<(), SchemaError> {
        let mut tx = self.pool.begin().await?;
        // Replicas starting at once take turns; the lock ends with the transaction.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(schema::MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        let has_version: bool =
            sqlx::query_scalar("SELECT to_regclass('schema_version') IS NOT NULL")
                .fetch_one(&mut *tx)
                .await?;
        let version = if has_version {
            let row: Option<(String, i64)> =
                sqlx::query_as("SELECT application, version FROM schema_version")
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|_| SchemaError::Foreign)?;
            match row {
                Some((application, version)) if application == schema::APPLICATION => version,
                _ => return Err(SchemaError::Foreign),
            }
        } else {
            let tables: Vec<String> = schema::TABLES.iter().map(|t| t.to_string()).collect();
            let ours: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM unnest($1::text[]) AS t(name) WHERE to_regclass(t.name) IS NOT NULL",
            )
            .bind(&tables)
            .fetch_one(&mut *tx)
            .await?;
            if ours > 0 {
                return Err(SchemaError::Foreign);
            }
            if !create {
                return Err(SchemaError::NoStore);
            }
            tx.execute(schema::VERSION_TABLE).await?;
            0
        };
        if version > super::SCHEMA_VERSION.into() {
            return Err(SchemaError::Newer(version));
        }
        // Collected first: an iterator adapter with a closure held across the awaits below
        // would make this future not `Send` (a higher-ranked lifetime rustc cannot prove).
        let steps: Vec<&schema::Migration> = schema::MIGRATIONS
            .iter()
            .filter(|m| m.version > version && m.version <= target)
            .collect();
        for step in steps {
            tx.execute(step.sql).await?;
            sqlx::query("UPDATE schema_version SET version = $1")
                .bind(step.version)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn schema_error(&self, error: SchemaError) -> Error {
        match error {
            SchemaError::Foreign => Error::Input(InputError::new(
                &self.place,
                None,
                "not a backup-doctor store: the database has tables of these names that another program made",
                "give --store a database (or a user whose search_path leads to a schema) of its own",
            )),
            SchemaError::Newer(found) => {
                super::newer_schema(&self.place, found, super::SCHEMA_VERSION.into())
            }
            SchemaError::NoStore => Error::Input(InputError::new(
                &self.place,
                None,
                "no store here: the database has no backup-doctor tables",
                "run `backup-doctor scan --store URL` first, or give the URL of an existing store",
            )),
            SchemaError::Sql(e) => Error::runtime(
                &self.place,
                format!(
                    "cannot prepare the store: {}",
                    entra::scrub(&e.to_string(), &self.secrets)
                ),
                "check that the user may create tables in the database (the first run creates them)",
            ),
        }
    }
}

/// The password of the URL (in its authority or as `password=`), as written and decoded.
fn secrets_of(url: &str) -> Vec<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Vec::new();
    };
    let mut secrets: Vec<String> = parsed
        .query_pairs()
        .filter(|(k, _)| k.eq_ignore_ascii_case("password"))
        .map(|(_, v)| v.into_owned())
        .collect();
    if let Some(written) = parsed.password() {
        secrets.push(written.to_string());
        let pair = format!("p={written}");
        secrets.extend(url::form_urlencoded::parse(pair.as_bytes()).map(|(_, v)| v.into_owned()));
    }
    secrets.retain(|s| !s.is_empty());
    secrets
}
