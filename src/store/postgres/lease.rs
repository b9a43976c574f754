//! Leases in PostgreSQL: a row with its holder and expiry, not an advisory lock. An advisory lock
//! lives as long as the session holding it, so it would need one pooled connection pinned for
//! the whole scan, and a holder cut off by a network partition keeps it until TCP notices; a row
//! with an expiry frees itself after `ttl` whatever happened to its holder, and the holder renews
//! it while it works. Taking it is one upsert: concurrent callers queue on the row's lock and
//! each re-checks the condition, so exactly one of them wins. Expiry is by the server's clock.

use sqlx::PgPool;
use std::time::Duration;

pub async fn try_lease(
    pool: &PgPool,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at)
         VALUES ($1, $2, clock_timestamp() + $3::float8 * interval '1 millisecond')
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()",
    )
    .bind(name)
    .bind(holder)
    .bind(ttl.as_millis() as f64)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn release(pool: &PgPool, name: &str, holder: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(())
}
