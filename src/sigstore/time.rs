//! Times as Unix seconds: what log entries carry (`integratedTime`) and what validity periods,
//! certificates and timestamps are compared in. Fractions of a second are dropped, so an end
//! written `23:59:59.999Z` still includes the second `23:59:59`.

use super::SigstoreError;

/// Seconds since 1970-01-01T00:00:00Z.
pub type Time = i64;

/// Parses RFC 3339 (`2021-03-07T03:20:29Z`, `…29.999Z`, `…29+02:00`).
pub fn parse_rfc3339(s: &str) -> Result<Time, SigstoreError> {
    let bad = || SigstoreError::malformed("time", format!("{s:?} is not an RFC 3339 time"));
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, SigstoreError> {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .ok_or_else(bad)
    };
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if b[13] != b':'
        || b[16] != b':'
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return Err(bad());
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(bad());
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let v = num_at(o, 1..3).ok_or_else(bad)? * 3600 + num_at(o, 4..6).ok_or_else(bad)? * 60;
            if o.starts_with('+') {
                v
            } else {
                -v
            }
        }
        _ => return Err(bad()),
    };
    Ok(from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

fn num_at(s: &str, r: std::ops::Range<usize>) -> Option<i64> {
    s.get(r)
        .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?
        .parse()
        .ok()
}

/// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 rendering in UTC, for reports.
pub fn format_rfc3339(t: Time) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A `der` time (certificate validity, TSTInfo genTime) as Unix seconds.
pub fn from_der(t: der::DateTime) -> Time {
    t.unix_duration().as_secs() as Time
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_drops_fractions() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
        let t = parse_rfc3339("2022-12-31T23:59:59.999Z").unwrap();
        assert_eq!(format_rfc3339(t), "2022-12-31T23:59:59Z");
        assert_eq!(
            parse_rfc3339("2021-03-07T05:20:29+02:00").unwrap(),
            parse_rfc3339("2021-03-07T03:20:29Z").unwrap()
        );
        assert!(parse_rfc3339("2021-03-07").is_err());
        assert!(parse_rfc3339("2021-13-07T03:20:29Z").is_err());
    }
}
