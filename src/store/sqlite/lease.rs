//! Leases in the SQLite store: a row per lease with its holder and expiry. One statement takes
//! or renews it (an upsert whose update applies only to the same holder or an expired lease), so
//! two processes on one file cannot both win: SQLite runs writers one at a time.

use rusqlite::{params, Connection};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `true` when `holder` now has the lease `name` until `ttl` from now.
pub fn try_lease(
    conn: &mut Connection,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> rusqlite::Result<bool> {
    let now = now_ms();
    let expires = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    let changed = conn.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4",
        params![name, holder, expires, now],
    )?;
    Ok(changed == 1)
}

pub fn release(conn: &mut Connection, name: &str, holder: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
        params![name, holder],
    )?;
    Ok(())
}

/// The clock in Unix milliseconds. The processes sharing a SQLite file share the host's clock.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
