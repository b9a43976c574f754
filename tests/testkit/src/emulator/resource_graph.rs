//! Resource Graph's `resourcechanges` table, served from the change records of the snapshot
//! (`tenant/Microsoft.Resources.changes.json`, docs/change-attribution.md). The emulator answers
//! the one query shape backup-doctor's collector sends (`live::collect::changes::query`): the
//! window on `changeAttributes.timestamp` and a list of target ids. Any other query on the table
//! is refused as Resource Graph refuses a query it cannot run: 400 `BadRequest` with an
//! `InvalidQuery` detail.

use super::arm::{page_bounds, Body};
use super::store::Store;
use super::ArmError;
use serde_json::Value;
use std::collections::BTreeSet;

const CHANGE_TYPE: &str = "microsoft.resources/changes";

/// The parsed query: the window's ends (RFC 3339 text, compared as instants) and the ids.
#[derive(Debug, PartialEq)]
pub(crate) struct ChangeQuery {
    pub since: String,
    pub until: String,
    pub ids: BTreeSet<String>,
}

/// Whether `query` reads the `resourcechanges` table (then only this module answers it).
pub(crate) fn is_change_query(query: &str) -> bool {
    query
        .split('|')
        .next()
        .is_some_and(|table| table.trim().eq_ignore_ascii_case("resourcechanges"))
}

/// Parses the collector's query:
/// `resourcechanges | extend changeTime = todatetime(properties.changeAttributes.timestamp),
/// targetResourceId = tolower(tostring(properties.targetResourceId)) | where changeTime >
/// datetime(A) and changeTime <= datetime(B) | where targetResourceId in ('id', …) | project …
/// | order by id asc`.
pub(crate) fn parse(query: &str) -> Option<ChangeQuery> {
    let parts: Vec<&str> = query.split('|').map(str::trim).collect();
    let [table, extend, window, ids, project, order] = parts.as_slice() else {
        return None;
    };
    if !table.eq_ignore_ascii_case("resourcechanges")
        || squash(extend)
            != "extend changeTime = todatetime(properties.changeAttributes.timestamp), targetResourceId = tolower(tostring(properties.targetResourceId))"
        || !project.starts_with("project id, name, type")
        || squash(order) != "order by id asc"
    {
        return None;
    }
    let window = window.strip_prefix("where changeTime > datetime(")?;
    let (since, rest) = window.split_once(") and changeTime <= datetime(")?;
    let until = rest.strip_suffix(')')?;
    let list = ids
        .strip_prefix("where targetResourceId in (")?
        .strip_suffix(')')?;
    let ids = list
        .split(',')
        .map(|id| {
            id.trim()
                .strip_prefix('\'')
                .and_then(|id| id.strip_suffix('\''))
                .filter(|id| !id.contains('\''))
                .map(str::to_lowercase)
        })
        .collect::<Option<BTreeSet<String>>>()?;
    Some(ChangeQuery {
        since: since.to_owned(),
        until: until.to_owned(),
        ids,
    })
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The rows of `query` from `store`, paged like `resources`.
pub(crate) fn answer(
    store: &Store,
    query: &str,
    subscriptions: &[String],
    offset: usize,
    size: usize,
    skip_token: impl Fn(usize) -> String,
) -> Result<Body, ArmError> {
    let parsed = parse(query).ok_or_else(|| {
        let mut error = ArmError::new(
            400,
            "BadRequest",
            "Please provide below info when asking for support: timestamp, correlationId.".into(),
        );
        error.details.push((
            "InvalidQuery".into(),
            format!("Query is invalid. The emulator answers only the change query backup-doctor sends (live::collect::changes::query), not '{query}'."),
        ));
        error
    })?;
    let (since, until) = (instant(&parsed.since)?, instant(&parsed.until)?);
    let rows: Vec<&Value> = store
        .of_type(CHANGE_TYPE, "/")
        .filter(|entry| {
            let properties = &entry.value["properties"];
            let target = properties["targetResourceId"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase();
            let in_scope = subscriptions.is_empty()
                || subscriptions
                    .iter()
                    .any(|s| target.starts_with(&format!("/subscriptions/{s}/")));
            let at = properties["changeAttributes"]["timestamp"]
                .as_str()
                .and_then(|t| instant(t).ok());
            in_scope
                && parsed.ids.contains(&target)
                && at.is_some_and(|at| at > since && at <= until)
        })
        .map(|entry| &entry.value)
        .collect();
    let (start, end, next) = page_bounds(rows.len(), offset, size);
    let mut answer = serde_json::json!({
        "totalRecords": rows.len(),
        "count": end - start,
        "data": &rows[start..end],
        "resultTruncated": "false",
        "facets": [],
    });
    if let Some(next) = next {
        answer["$skipToken"] = Value::String(skip_token(next));
    }
    Ok(Body(serde_json::to_vec(&answer).unwrap_or_default()))
}

/// Seconds since the epoch of an RFC 3339 UTC time (`2026-11-20T14:02:11.000Z`); the emulator
/// needs no time zone other than Z.
fn instant(text: &str) -> Result<f64, ArmError> {
    let bad = || {
        ArmError::new(
            400,
            "BadRequest",
            format!("'{text}' is not a datetime the emulator reads (RFC 3339, Z)."),
        )
    };
    let text = text.strip_suffix('Z').ok_or_else(bad)?;
    let (date, clock) = text.split_once('T').ok_or_else(bad)?;
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let mut d = date.split('-');
    let (y, m, day) = (
        num(d.next().unwrap_or_default())?,
        num(d.next().unwrap_or_default())?,
        num(d.next().unwrap_or_default())?,
    );
    let mut c = clock.split(':');
    let (h, min) = (
        num(c.next().unwrap_or_default())?,
        num(c.next().unwrap_or_default())?,
    );
    let sec: f64 = c.next().unwrap_or("0").parse().map_err(|_| bad())?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Ok((days * 86400 + h * 3600 + min * 60) as f64 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "resourcechanges | extend changeTime = todatetime(properties.changeAttributes.timestamp), targetResourceId = tolower(tostring(properties.targetResourceId)) | where changeTime > datetime(2026-11-10T06:00:00Z) and changeTime <= datetime(2026-11-24T06:00:00Z) | where targetResourceId in ('/subscriptions/s/a', '/subscriptions/s/b') | project id, name, type, tenantId, subscriptionId, resourceGroup, location, properties | order by id asc";

    #[test]
    fn the_collectors_query_parses_and_others_do_not() {
        let parsed = parse(QUERY).unwrap();
        assert_eq!(parsed.ids.len(), 2);
        assert_eq!(parsed.since, "2026-11-10T06:00:00Z");
        assert!(is_change_query(QUERY));
        assert!(parse("resourcechanges | limit 5").is_none());
        assert!(parse(&QUERY.replace("in ('", "in (x'")).is_none());
        assert!(!is_change_query("resources | where type =~ 'x'"));
    }

    #[test]
    fn instants_order_across_days_and_fractions() {
        let a = instant("2026-11-20T14:02:11.000Z").unwrap();
        let b = instant("2026-11-20T14:02:11.500Z").unwrap();
        let c = instant("2026-12-01T00:00:00Z").unwrap();
        assert!(a < b && b < c);
        assert_eq!(instant("1970-01-02T00:00:00Z").unwrap(), 86400.0);
        assert!(instant("2026-11-20 14:02").is_err());
    }
}
