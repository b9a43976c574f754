//! Time: all timestamps are offsets from the snapshot time, never the wall clock.

use rand::Rng;

pub(super) const MINUTE: i64 = 60;
pub(super) const HOUR: i64 = 3_600;
pub(super) const DAY: i64 = 86_400;
pub(super) const SNAPSHOT_CREATED: &str = "2026-11-24T06:00:00Z";
pub(super) const SNAPSHOT_UNIX: i64 = days_from_civil(2026, 11, 24) * DAY + 6 * HOUR;
/// Scheduled backups start this long before the snapshot time (23:00 UTC the evening before).
pub(super) const SCHEDULE_LEAD: i64 = 7 * HOUR;
pub(super) const JOB_WINDOW: i64 = 7 * DAY;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(super) const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A point in time with the 100 ns precision ARM prints.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ts {
    pub(super) secs: i64,
    pub(super) ticks: u32,
}

impl Ts {
    pub(super) fn before_snapshot(secs: i64) -> Ts {
        Ts {
            secs: SNAPSHOT_UNIX - secs,
            ticks: 0,
        }
    }

    /// Adds a random sub-second part, as real service timestamps have.
    pub(super) fn jitter(self, rng: &mut impl Rng) -> Ts {
        Ts {
            ticks: rng.gen_range(0..10_000_000),
            ..self
        }
    }

    pub(super) fn plus_ms(self, ms: u64) -> Ts {
        let ticks = u64::from(self.ticks) + (ms % 1_000) * 10_000;
        let secs = self.secs + (ms / 1_000) as i64 + (ticks / 10_000_000) as i64;
        Ts {
            secs,
            ticks: (ticks % 10_000_000) as u32,
        }
    }

    pub(super) fn unix(self) -> i64 {
        self.secs
    }

    pub(super) fn civil(self) -> String {
        let (y, mo, d) = civil_from_days(self.secs.div_euclid(DAY));
        let s = self.secs.rem_euclid(DAY);
        format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
            s / HOUR,
            s % HOUR / MINUTE,
            s % MINUTE
        )
    }

    /// `2026-11-23T23:04:05Z`
    pub(super) fn zulu(self) -> String {
        format!("{}Z", self.civil())
    }

    /// `2026-11-23T23:04:05.1234567Z` (Recovery Services style)
    pub(super) fn zulu7(self) -> String {
        format!("{}.{:07}Z", self.civil(), self.ticks)
    }

    /// `2026-11-23T23:04:05.1234567+00:00` (Compute style)
    pub(super) fn offset7(self) -> String {
        format!("{}.{:07}+00:00", self.civil(), self.ticks)
    }
}

/// ISO 8601 duration as the Backup service prints it, e.g. `PT12M3.2S`.
pub(super) fn iso_duration(ms: u64) -> String {
    let (h, m, s, frac) = (
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000,
    );
    let mut out = String::from("PT");
    if h > 0 {
        out += &format!("{h}H");
    }
    if m > 0 {
        out += &format!("{m}M");
    }
    let frac = format!("{frac:03}");
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        out += &format!("{s}S");
    } else {
        out += &format!("{s}.{frac}S");
    }
    out
}
