//! A VM backup policy's schedule as instants: when it runs, in the policy's time zone with its
//! daylight-saving days, and the longest gap between two runs, from which the age of recovery
//! point the policy promises follows (docs/recovery-points.md).
//!
//! Azure does not document what a schedule does on a daylight-saving day. The reading taken here:
//! a run time the clock skips (02:30 on a spring-forward night) runs when the clock would have
//! shown it without the jump, one hour later on the new clock (03:30); a run time the clock shows
//! twice (02:30 on a fall-back night) runs once, at its first occurrence.

use super::windows_zones::WINDOWS_ZONES;
use crate::inventory::model::{BackupPolicyProperties, SchedulePolicy};
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;

/// Scheduled backups may start up to two hours after the scheduled time ("scheduled jobs start
/// within 2 h of the scheduled time", Azure Backup support matrix for VMs); a recovery point is
/// late only once that window has passed as well.
pub const START_WINDOW: Duration = Duration::hours(2);

#[derive(Debug, Clone, PartialEq)]
pub enum Runs {
    /// Every day at each time.
    Daily { times: Vec<NaiveTime> },
    /// On each day at each time.
    Weekly {
        days: Vec<Weekday>,
        times: Vec<NaiveTime>,
    },
    /// Enhanced policies: every `interval` hours from `start`, while less than `window` hours
    /// have passed since it.
    Hourly {
        interval: i64,
        start: NaiveTime,
        window: i64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub runs: Runs,
    pub zone: Tz,
    /// The policy's `timeZone` as written (a Windows name), for messages.
    pub zone_name: String,
}

/// The IANA zone of a Windows time-zone name (case-insensitive); IANA names are taken as they
/// are, since some tools write them.
pub fn zone(name: &str) -> Option<Tz> {
    let name = name.trim();
    WINDOWS_ZONES
        .iter()
        .find(|(windows, _)| windows.eq_ignore_ascii_case(name))
        .and_then(|(_, iana)| iana.parse().ok())
        .or_else(|| name.parse().ok())
}

/// The schedule of a policy, or why it cannot be read (the reason an unknown fact carries).
pub fn parse(policy_name: &str, properties: &BackupPolicyProperties) -> Result<Schedule, String> {
    let schedule = properties
        .schedule_policy
        .as_ref()
        .ok_or_else(|| format!("backup policy {policy_name} has no schedulePolicy"))?;
    let zone_name = properties.time_zone.clone().unwrap_or_else(|| "UTC".into());
    let zone = zone(&zone_name).ok_or_else(|| {
        format!("backup policy {policy_name} has the time zone '{zone_name}', which is no Windows or IANA zone name known")
    })?;
    let runs = runs(policy_name, schedule)?;
    Ok(Schedule {
        runs,
        zone,
        zone_name,
    })
}

fn runs(policy_name: &str, schedule: &SchedulePolicy) -> Result<Runs, String> {
    let frequency = schedule.schedule_run_frequency.as_deref().unwrap_or("");
    let bad = |what: &str| format!("backup policy {policy_name}: {what}");
    match frequency.to_ascii_lowercase().as_str() {
        "daily" => {
            let times = schedule.schedule_run_times.as_ref().or_else(|| {
                schedule
                    .daily_schedule
                    .as_ref()?
                    .schedule_run_times
                    .as_ref()
            });
            Ok(Runs::Daily {
                times: times_of(times).map_err(|e| bad(&e))?,
            })
        }
        "weekly" => {
            let weekly = schedule.weekly_schedule.as_ref();
            let times = schedule
                .schedule_run_times
                .as_ref()
                .or_else(|| weekly?.schedule_run_times.as_ref());
            let days = schedule
                .schedule_run_days
                .as_ref()
                .or_else(|| weekly?.schedule_run_days.as_ref())
                .filter(|d| !d.is_empty())
                .ok_or_else(|| bad("a weekly schedule without scheduleRunDays"))?;
            let days = days
                .iter()
                .map(|d| {
                    d.parse::<Weekday>()
                        .map_err(|_| bad(&format!("'{d}' is no day of the week")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Runs::Weekly {
                days,
                times: times_of(times).map_err(|e| bad(&e))?,
            })
        }
        "hourly" => {
            let hourly = schedule
                .hourly_schedule
                .as_ref()
                .ok_or_else(|| bad("an hourly schedule without hourlySchedule"))?;
            let interval = hourly
                .interval
                .filter(|i| (1..=24).contains(i))
                .ok_or_else(|| bad("hourlySchedule.interval is missing or not 1 to 24 hours"))?;
            let window = hourly
                .schedule_window_duration
                .filter(|w| (1..=24).contains(w))
                .ok_or_else(|| {
                    bad("hourlySchedule.scheduleWindowDuration is missing or not 1 to 24 hours")
                })?;
            let start = hourly
                .schedule_window_start_time
                .as_deref()
                .ok_or_else(|| bad("hourlySchedule.scheduleWindowStartTime is missing"))
                .and_then(|t| time_of(t).map_err(|e| bad(&e)))?;
            Ok(Runs::Hourly {
                interval,
                start,
                window,
            })
        }
        "" => Err(bad("the schedule has no scheduleRunFrequency")),
        other => Err(bad(&format!(
            "scheduleRunFrequency '{other}' is not Daily, Weekly or Hourly"
        ))),
    }
}

fn times_of(times: Option<&Vec<String>>) -> Result<Vec<NaiveTime>, String> {
    let times = times
        .filter(|t| !t.is_empty())
        .ok_or("the schedule has no scheduleRunTimes")?;
    let mut parsed = times
        .iter()
        .map(|t| time_of(t))
        .collect::<Result<Vec<_>, _>>()?;
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

/// Run times are written as a date-time (`2020-07-01T22:00:00Z`) of which only the time of day
/// counts, read as a wall-clock time in the policy's zone: the `Z` and the date mean nothing.
fn time_of(text: &str) -> Result<NaiveTime, String> {
    let time = text
        .split_once('T')
        .map(|(_, t)| t)
        .ok_or_else(|| format!("run time '{text}' is no date-time"))?;
    let time = time.trim_end_matches('Z');
    let time = time.find(['+', '-']).map_or(time, |at| &time[..at]);
    NaiveTime::parse_from_str(time, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
        .map_err(|_| format!("run time '{text}' has no readable time of day"))
}

impl Schedule {
    /// Wall-clock run times that fall on `date` in the zone.
    fn local_runs_on(&self, date: NaiveDate) -> Vec<NaiveDateTime> {
        match &self.runs {
            Runs::Daily { times } => times.iter().map(|t| date.and_time(*t)).collect(),
            Runs::Weekly { days, times } if days.contains(&date.weekday()) => {
                times.iter().map(|t| date.and_time(*t)).collect()
            }
            Runs::Weekly { .. } => Vec::new(),
            // A window opened on the previous day may still be open after midnight: the window
            // of `date` is listed with its runs, whichever day they land on.
            Runs::Hourly {
                interval,
                start,
                window,
            } => (0..*window)
                .step_by(*interval as usize)
                .map(|offset| date.and_time(*start) + Duration::hours(offset))
                .collect(),
        }
    }

    /// The instant of a wall-clock time in the zone, with the daylight-saving reading above.
    pub fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.zone.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            LocalResult::None => {
                // In a gap: read it with the offset in force just before the gap.
                let before = local - Duration::hours(3);
                let offset = match self.zone.from_local_datetime(&before) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                        chrono::Offset::fix(t.offset())
                    }
                    LocalResult::None => chrono::FixedOffset::east_opt(0).expect("zero offset"),
                };
                (local - Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc()
            }
        }
    }

    /// Scheduled runs in `[from, to]`, oldest first.
    pub fn runs_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let first = from.with_timezone(&self.zone).date_naive() - Duration::days(1);
        let last = to.with_timezone(&self.zone).date_naive() + Duration::days(1);
        let mut runs: Vec<DateTime<Utc>> = first
            .iter_days()
            .take_while(|d| *d <= last)
            .flat_map(|d| self.local_runs_on(d))
            .map(|local| self.instant(local))
            .filter(|t| *t >= from && *t <= to)
            .collect();
        runs.sort();
        runs.dedup();
        runs
    }

    /// The first run strictly after `now`.
    pub fn next_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.runs_between(now, now + Duration::days(15))
            .into_iter()
            .find(|t| *t > now)
    }

    /// The longest time between two consecutive runs over the five weeks around `now`: a
    /// daily schedule gives 23, 24 or 25 hours on daylight-saving days, a weekly one up to 7 days.
    pub fn longest_gap(&self, now: DateTime<Utc>) -> Option<Duration> {
        let runs = self.runs_between(now - Duration::days(17), now + Duration::days(17));
        runs.windows(2).map(|pair| pair[1] - pair[0]).max()
    }

    /// "daily at 22:00", "weekly on Sun at 02:30", "every 4 h from 18:00 for 8 h", and the zone.
    pub fn describe(&self) -> String {
        let times = |times: &[NaiveTime]| {
            times
                .iter()
                .map(|t| t.format("%H:%M").to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let when = match &self.runs {
            Runs::Daily { times: t } => format!("daily at {}", times(t)),
            Runs::Weekly { days, times: t } => format!(
                "weekly on {} at {}",
                days.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                times(t)
            ),
            Runs::Hourly {
                interval,
                start,
                window,
            } => format!(
                "every {interval} h from {} for {window} h",
                start.format("%H:%M")
            ),
        };
        format!("{when} ({})", self.zone_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::model::HourlySchedule;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn daily(time: &str, zone: &str) -> Schedule {
        let properties = BackupPolicyProperties {
            schedule_policy: Some(SchedulePolicy {
                schedule_run_frequency: Some("Daily".into()),
                schedule_run_times: Some(vec![format!("2020-07-01T{time}Z")]),
                ..SchedulePolicy::default()
            }),
            time_zone: Some(zone.into()),
            ..BackupPolicyProperties::default()
        };
        parse("p", &properties).unwrap()
    }

    #[test]
    fn every_windows_name_of_the_table_is_a_known_zone() {
        for (windows, iana) in WINDOWS_ZONES {
            assert!(iana.parse::<Tz>().is_ok(), "{windows} -> {iana}");
        }
        assert!(WINDOWS_ZONES.windows(2).all(|p| p[0].0 < p[1].0));
        assert_eq!(zone("W. Europe Standard Time"), Some(Tz::Europe__Berlin));
        assert_eq!(
            zone("pacific standard time"),
            Some(Tz::America__Los_Angeles)
        );
        assert_eq!(zone("UTC"), Some(Tz::Etc__UTC));
        assert_eq!(zone("Mars Standard Time"), None);
    }

    #[test]
    fn a_daily_run_is_read_in_the_policy_zone() {
        // 22:00 in Berlin in November (CET, +01:00) is 21:00 UTC.
        let schedule = daily("22:00:00", "W. Europe Standard Time");
        assert_eq!(
            schedule.next_run(utc("2026-11-24T06:00:00Z")),
            Some(utc("2026-11-24T21:00:00Z"))
        );
        // In July (CEST, +02:00) the same run is 20:00 UTC.
        assert_eq!(
            schedule.next_run(utc("2026-07-01T06:00:00Z")),
            Some(utc("2026-07-01T20:00:00Z"))
        );
    }

    #[test]
    fn a_run_time_the_clock_skips_runs_an_hour_later_on_the_new_clock() {
        // Europe/Berlin springs forward on 2026-03-29 at 02:00 CET to 03:00 CEST: 02:30 does
        // not exist. Read with the offset before the gap (+01:00) it is 01:30 UTC, which the
        // new clock shows as 03:30 CEST. The days around it run at 01:30 UTC (CET, 28 March)
        // and 00:30 UTC (CEST, 30 March).
        let schedule = daily("02:30:00", "W. Europe Standard Time");
        let runs = schedule.runs_between(utc("2026-03-28T00:00:00Z"), utc("2026-03-31T00:00:00Z"));
        assert_eq!(
            runs,
            vec![
                utc("2026-03-28T01:30:00Z"),
                utc("2026-03-29T01:30:00Z"),
                utc("2026-03-30T00:30:00Z"),
            ]
        );
        // The gaps are 24 h, then 23 h: the longest of the weeks around it is 24 h.
        assert_eq!(
            schedule.longest_gap(utc("2026-03-29T12:00:00Z")),
            Some(Duration::hours(24))
        );
    }

    #[test]
    fn a_run_time_the_clock_shows_twice_runs_once_at_the_first() {
        // Europe/Berlin falls back on 2026-10-25 at 03:00 CEST to 02:00 CET: 02:30 happens at
        // 00:30 UTC (CEST) and again at 01:30 UTC (CET). It runs once, at 00:30 UTC. The day
        // before it is 00:30 UTC (CEST), the day after 01:30 UTC (CET): gaps 24 h and 25 h.
        let schedule = daily("02:30:00", "W. Europe Standard Time");
        let runs = schedule.runs_between(utc("2026-10-24T00:00:00Z"), utc("2026-10-27T00:00:00Z"));
        assert_eq!(
            runs,
            vec![
                utc("2026-10-24T00:30:00Z"),
                utc("2026-10-25T00:30:00Z"),
                utc("2026-10-26T01:30:00Z"),
            ]
        );
        assert_eq!(
            schedule.longest_gap(utc("2026-10-25T12:00:00Z")),
            Some(Duration::hours(25))
        );
    }

    #[test]
    fn a_weekly_schedule_runs_on_its_days_only() {
        let properties = BackupPolicyProperties {
            schedule_policy: Some(SchedulePolicy {
                schedule_run_frequency: Some("Weekly".into()),
                schedule_run_times: Some(vec!["2024-01-01T23:00:00Z".into()]),
                schedule_run_days: Some(vec!["Sunday".into(), "Wednesday".into()]),
                ..SchedulePolicy::default()
            }),
            time_zone: Some("Pacific Standard Time".into()),
            ..BackupPolicyProperties::default()
        };
        let schedule = parse("weekly", &properties).unwrap();
        // 2026-11-24 is a Tuesday; Wednesday 25 November 23:00 PST (-08:00) is 07:00 UTC on
        // the 26th, then Sunday 29 November 23:00 PST is 07:00 UTC on the 30th.
        let now = utc("2026-11-24T06:00:00Z");
        assert_eq!(schedule.next_run(now), Some(utc("2026-11-26T07:00:00Z")));
        // Sunday to Wednesday is 3 days, Wednesday to Sunday 4: the promise is 4 days.
        assert_eq!(schedule.longest_gap(now), Some(Duration::days(4)));
    }

    #[test]
    fn an_hourly_window_runs_every_interval_and_may_cross_midnight() {
        let properties = BackupPolicyProperties {
            policy_type: Some("V2".into()),
            schedule_policy: Some(SchedulePolicy {
                schedule_run_frequency: Some("Hourly".into()),
                hourly_schedule: Some(HourlySchedule {
                    interval: Some(4),
                    schedule_window_start_time: Some("2025-06-03T22:00:00Z".into()),
                    schedule_window_duration: Some(8),
                }),
                ..SchedulePolicy::default()
            }),
            time_zone: Some("UTC".into()),
            ..BackupPolicyProperties::default()
        };
        let schedule = parse("hourly", &properties).unwrap();
        // 22:00 and 02:00 (the window closes at 06:00, not a run): gaps 4 h and 20 h.
        let runs = schedule.runs_between(utc("2026-11-24T00:00:00Z"), utc("2026-11-25T23:59:00Z"));
        assert_eq!(
            runs,
            vec![
                utc("2026-11-24T02:00:00Z"),
                utc("2026-11-24T22:00:00Z"),
                utc("2026-11-25T02:00:00Z"),
                utc("2026-11-25T22:00:00Z"),
            ]
        );
        assert_eq!(
            schedule.longest_gap(utc("2026-11-24T06:00:00Z")),
            Some(Duration::hours(20))
        );
    }

    #[test]
    fn an_unreadable_schedule_says_what_is_wrong() {
        let mut properties = BackupPolicyProperties::default();
        assert!(parse("p", &properties)
            .unwrap_err()
            .contains("no schedulePolicy"));
        properties.schedule_policy = Some(SchedulePolicy {
            schedule_run_frequency: Some("Daily".into()),
            schedule_run_times: Some(vec!["2020-07-01T22:00:00Z".into()]),
            ..SchedulePolicy::default()
        });
        properties.time_zone = Some("Mars Standard Time".into());
        assert!(parse("p", &properties)
            .unwrap_err()
            .contains("'Mars Standard Time'"));
        properties.time_zone = None;
        properties
            .schedule_policy
            .as_mut()
            .unwrap()
            .schedule_run_times = None;
        assert!(parse("p", &properties)
            .unwrap_err()
            .contains("no scheduleRunTimes"));
    }
}
