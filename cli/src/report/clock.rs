//! The review's times, none of them from the wall clock unless asked: the activity cutoff
//! (`--since`, by default 30 days before the newest record) and the generation time
//! (`SOURCE_DATE_EPOCH` when set, for a page that is the same byte for byte on every run).

use crate::common::Result;
use crate::usage::day;

/// The default `--since`: 30 days before the newest record.
pub const DEFAULT_SINCE: &str = "30d";

/// When activity counts as recent.
pub struct Cutoff {
    pub time: u64,
    /// How it was chosen, for the page: `30 days before the newest record`.
    pub why: String,
}

/// Days since the epoch of a civil date (Howard Hinnant's algorithm), `None` when out of range.
fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `2026-09-01` as seconds since the epoch (midnight UTC); the date must exist.
fn date(s: &str) -> Option<u64> {
    let mut parts = s.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    let t = u64::try_from(days_from_civil(y, m, d)? * 86_400).ok()?;
    (day(t) == s).then_some(t)
}

/// `30d`, `12h`, `2w` as seconds.
fn duration(s: &str) -> Option<u64> {
    let unit = match s.chars().last()? {
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let n: u64 = s.get(..s.len() - 1)?.parse().ok()?;
    n.checked_mul(unit)
}

/// `--since`: a duration before the newest record, or a date.
pub fn cutoff(since: &str, newest: u64) -> Result<Cutoff> {
    if let Some(t) = date(since) {
        return Ok(Cutoff {
            time: t,
            why: format!("since {since}"),
        });
    }
    let Some(d) = duration(since) else {
        return Err(format!(
            "`--since {since}`: expected a duration before the newest record (`30d`, `12h`, `2w`) or a date (`2026-09-01`)"
        ));
    };
    Ok(Cutoff {
        time: newest.saturating_sub(d),
        why: format!("{since} before the newest record, {}", stamp(newest)),
    })
}

/// `2026-09-21 12:00:00 UTC`.
pub fn stamp(t: u64) -> String {
    let s = t % 86_400;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        day(t),
        s / 3_600,
        s / 60 % 60,
        s % 60
    )
}

/// The generation time: `SOURCE_DATE_EPOCH` when set (and said so), else now.
pub fn generated() -> Result<String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map(|t| format!("{} (SOURCE_DATE_EPOCH)", stamp(t)))
            .map_err(|_| format!("`SOURCE_DATE_EPOCH` is not a number of seconds: `{v}`")),
        Err(_) => Ok(stamp(crate::common::now())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations() {
        assert_eq!(date("2026-09-21"), Some(1_789_948_800));
        assert_eq!(date("1970-01-01"), Some(0));
        assert_eq!(date("2024-02-29").map(day).as_deref(), Some("2024-02-29"));
        assert_eq!(date("2026-02-30"), None);
        assert_eq!(date("2026-9-1"), None);
        assert_eq!(duration("30d"), Some(30 * 86_400));
        assert_eq!(duration("2w"), Some(14 * 86_400));
        assert_eq!(duration("d"), None);
        assert_eq!(duration("30"), None);
        assert_eq!(cutoff("30d", 100 * 86_400).unwrap().time, 70 * 86_400);
        assert!(cutoff("soon", 0).is_err());
        assert_eq!(stamp(1_790_000_000), "2026-09-21 14:13:20 UTC");
    }
}
