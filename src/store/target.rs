//! Where a store lives: a SQLite file, or a PostgreSQL database named by its URL. The URL may
//! carry a password, so messages and logs name the store by `redacted()` only.

use std::path::PathBuf;

/// `Debug` and `Display` show the redacted form: a configuration printed for debugging must not
/// print the password.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreTarget {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (libpq's form, `?sslmode=require` and all).
    /// `?azure_auth=KIND` signs in with a Microsoft Entra token instead of a password
    /// (`postgres::entra`).
    Postgres(String),
}

impl StoreTarget {
    /// A URL with the `postgres://` or `postgresql://` scheme (any case) is a PostgreSQL
    /// database; anything else is the path of a SQLite file.
    pub fn parse(text: &str) -> StoreTarget {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            StoreTarget::Postgres(text.to_string())
        } else {
            StoreTarget::Sqlite(PathBuf::from(text))
        }
    }

    /// The path, or the URL with any password (in the authority or as `password=` in the
    /// query) replaced by `***`. A URL that does not parse is not echoed at all: the password
    /// could sit anywhere in it.
    pub fn redacted(&self) -> String {
        match self {
            StoreTarget::Sqlite(path) => match (self.foreign_scheme(), path.to_str()) {
                (Some(_), Some(text)) => redact_url(text),
                _ => path.display().to_string(),
            },
            StoreTarget::Postgres(text) => redact_url(text),
        }
    }

    /// The scheme of a store written as a URL of another kind (`pg://`, `mysql://`,
    /// `postgres+ssl://`): no one means such text as a file name, and it may carry a password,
    /// so it is refused (`Store::open`) and shown redacted rather than taken for a SQLite path.
    pub fn foreign_scheme(&self) -> Option<&str> {
        let StoreTarget::Sqlite(path) = self else {
            return None;
        };
        let (scheme, _) = path.to_str()?.split_once("://")?;
        let mut chars = scheme.chars();
        let first = chars.next()?;
        (first.is_ascii_alphabetic()
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .then_some(scheme)
    }
}

impl std::fmt::Debug for StoreTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreTarget::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            StoreTarget::Postgres(_) => f.debug_tuple("Postgres").field(&self.redacted()).finish(),
        }
    }
}

impl std::fmt::Display for StoreTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for StoreTarget {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(StoreTarget::parse(text))
    }
}

fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return format!(
            "{}://(a URL that does not parse)",
            text.split("://").next().unwrap_or("postgres")
        );
    };
    if url.password().is_some() {
        // Only fails for URLs that cannot have a password, which one with a password is not.
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret = k.eq_ignore_ascii_case("password");
                let value = if secret {
                    "***".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_anything_else_a_file() {
        for url in [
            "postgres://u@h/db",
            "postgresql://u@h/db",
            "POSTGRES://u@h/db",
        ] {
            assert_eq!(StoreTarget::parse(url), StoreTarget::Postgres(url.into()));
        }
        for path in [
            "history.db",
            "./postgres://x",
            "/var/lib/bd/postgres.db",
            "",
        ] {
            assert_eq!(
                StoreTarget::parse(path),
                StoreTarget::Sqlite(PathBuf::from(path))
            );
        }
    }

    #[test]
    fn the_password_never_shows() {
        let target =
            StoreTarget::parse("postgres://audit:s3cr%40t@db.example:5432/bd?sslmode=require");
        let shown = target.redacted();
        assert!(!shown.contains("s3cr"), "{shown}");
        assert_eq!(
            shown,
            "postgres://audit:***@db.example:5432/bd?sslmode=require"
        );

        let shown =
            StoreTarget::parse("postgresql://db/bd?user=a&password=hunter2&sslmode=verify-full")
                .redacted();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("sslmode=verify-full"), "{shown}");

        // Another scheme (a typo of postgres://) is no file: shown redacted too.
        let target = StoreTarget::parse("postgresql+asyncpg://a:hunter2@db/bd");
        assert_eq!(target.foreign_scheme(), Some("postgresql+asyncpg"));
        let shown = target.redacted();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("a:***@db"), "{shown}");
        assert_eq!(StoreTarget::parse("./postgres://x").foreign_scheme(), None);
        assert_eq!(StoreTarget::parse("history.db").foreign_scheme(), None);

        let shown = StoreTarget::parse("postgres://a:hunter2@[bad").redacted();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.starts_with("postgres://"), "{shown}");

        let target = StoreTarget::parse("postgres://a:hunter2@db/bd");
        for shown in [format!("{target:?}"), format!("{target}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("a:***@db"), "{shown}");
        }
    }
}
