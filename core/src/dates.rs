//! The range of dates and instants a client may send.
//!
//! PostgreSQL's `timestamp` stops at 4713 BC and 294276 AD and chrono accepts years far beyond
//! both (`-9999-01-01`), so an unchecked client date reaches the database and fails there as a
//! 500. No date of a car dealer's business lies outside 1900–2200: anything else is a typo or a
//! probe, refused with a 422 naming the parameter before any query is built.

use crate::msg;
use crate::{Error, Result};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// The first year a client date may fall in.
pub const FIRST_YEAR: i32 = 1900;
/// The last year a client date may fall in.
pub const LAST_YEAR: i32 = 2200;

fn out_of_range(field: &str) -> Error {
    Error::invalid(
        field,
        msg!(
            "a date between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31",
            FIRST_YEAR,
            LAST_YEAR
        ),
    )
}

/// A client's day, checked to lie in [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn day(field: &str, date: NaiveDate) -> Result<NaiveDate> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(out_of_range(field))
    }
}

/// A client's instant, checked like [`day`] on its UTC date.
pub fn instant(field: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>> {
    day(field, at.date_naive()).map(|_| at)
}

/// [`instant`] for an optional value.
pub fn maybe_instant(field: &str, at: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>> {
    at.map(|a| instant(field, a)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        assert!(day("from", d(1900, 1, 1)).is_ok());
        assert!(day("from", d(2200, 12, 31)).is_ok());
        assert!(day("from", d(1899, 12, 31)).is_err());
        assert!(day("to", d(2201, 1, 1)).is_err());
        assert!(day("to", d(-9999, 1, 1)).is_err());
        match day("to", d(9999, 12, 31)) {
            Err(Error::Validation { field, .. }) => assert_eq!(field, "to"),
            other => panic!("{other:?}"),
        }
    }
}
