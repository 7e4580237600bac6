//! Calendar arithmetic for display: epoch milliseconds to UTC dates and times, and `YYYY-MM-DD`
//! back to epoch milliseconds for the history filters. Pages show UTC, which the footer says,
//! because the server cannot know the reader's zone and grouping must agree with the times.

const DAY_MS: i64 = 86_400_000;
const WEEKDAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-24`.
pub fn date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `21:30:09`.
pub fn time(ms: i64) -> String {
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `2026-11-24 21:30:09`.
pub fn datetime(ms: i64) -> String {
    format!("{} {}", date(ms), time(ms))
}

/// The heading of the day `ms` falls in, seen from `now_ms`: `Today`, `Yesterday`, or the
/// weekday and date.
pub fn day_label(ms: i64, now_ms: i64) -> String {
    let day = ms.div_euclid(DAY_MS);
    match now_ms.div_euclid(DAY_MS) - day {
        0 => "Today".to_owned(),
        1 => "Yesterday".to_owned(),
        _ => format!("{}, {}", WEEKDAYS[day.rem_euclid(7) as usize], date(ms)),
    }
}

/// The start (epoch ms, UTC) of the day written `YYYY-MM-DD`, or `None` if it is not a date.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1970..=9999).contains(&year) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // 2026-02-31 would silently become March 3rd: refuse dates that do not round-trip.
    (civil_from_days(days) == (year, month, day)).then_some(days * DAY_MS)
}

/// One day in milliseconds (the `to` filter includes the whole day it names).
pub const ONE_DAY_MS: i64 = DAY_MS;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_milliseconds_format_as_utc_dates_and_times() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(1_795_987_809_000), "2026-11-29 21:30:09");
        assert_eq!(date(951_782_400_000), "2000-02-29");
    }

    #[test]
    fn dates_parse_back_to_the_start_of_their_day_and_impossible_dates_are_refused() {
        assert_eq!(parse_date("1970-01-02"), Some(DAY_MS));
        assert_eq!(
            parse_date("2000-02-29").map(date).as_deref(),
            Some("2000-02-29")
        );
        assert_eq!(parse_date("2026-02-31"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2026-13-01"), None);
    }

    #[test]
    fn days_are_labelled_today_yesterday_or_by_weekday_and_date() {
        let now = parse_date("2026-11-24").unwrap_or_default() + 5_000_000;
        assert_eq!(day_label(now - 1_000, now), "Today");
        assert_eq!(day_label(now - DAY_MS, now), "Yesterday");
        assert_eq!(day_label(now - 3 * DAY_MS, now), "Saturday, 2026-11-21");
    }
}
