//! The range of dates and instants a client may send.
//!
//! PostgreSQL's `timestamp` stops at 4713 BC and 294276 AD and chrono accepts years far beyond
//! both (`-9999-01-01`), so an unchecked client date reaches the database and fails there as a
//! 500. No date of a car dealer's business lies outside 1900–2200: anything else is a typo or a
//! probe, refused with a 422 naming the parameter before any query is built.

use crate::msg;
use crate::{Error, Result};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use std::borrow::Cow;

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

/// The time zone of a tenant's country (tenants carry a country, not a zone): Belgium,
/// France, the Netherlands and Luxembourg have their own; any other country, and a tenant
/// without one, counts as Brussels, where the platform's dealers started.
pub fn zone_of_country(country: &str) -> Tz {
    match country.trim().to_ascii_uppercase().as_str() {
        "FR" => chrono_tz::Europe::Paris,
        "NL" => chrono_tz::Europe::Amsterdam,
        "LU" => chrono_tz::Europe::Luxembourg,
        _ => chrono_tz::Europe::Brussels,
    }
}

/// The time zone of `tenant` ([`zone_of_country`] of its country; its cached information).
pub async fn zone_of(app: &crate::App, tenant: crate::tenancy::TenantId) -> Result<Tz> {
    let info = app.ports.directory.tenant_info(app, tenant.uuid()).await?;
    Ok(zone_of_country(
        info.as_ref().map_or("BE", |i| i.country.as_str()),
    ))
}

/// A moment a person may write as a day: `2026-12-31` means the end of that day (23:59:59)
/// in the tenant's time zone; an RFC 3339 date-time (`2026-12-31T17:00:00Z`) is that
/// instant. The rules that take it settle it into an instant ([`When::settle`]) before it is
/// stored, so what is stored and answered is always a date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A day: the end of it in the tenant's zone.
    Day(NaiveDate),
    /// An instant.
    At(DateTime<Utc>),
}

const WHEN_EXPECTED: &str = "a date (2026-12-31, the end of that day) or a date and time \
                             (2026-12-31T17:00:00Z)";

impl When {
    /// The instant it means in `zone`.
    pub fn instant_in(self, zone: Tz) -> DateTime<Utc> {
        match self {
            When::At(at) => at,
            When::Day(day) => {
                let last = day.and_hms_opt(23, 59, 59).unwrap_or_default();
                match zone.from_local_datetime(&last).latest() {
                    Some(t) => t.with_timezone(&Utc),
                    // 23:59:59 never falls in a DST gap; should a zone ever make it, the day
                    // ends at the same wall time in UTC.
                    None => last.and_utc(),
                }
            }
        }
    }

    /// Replaces a day by the instant it means in `zone`, checked like [`instant`]; answers
    /// the instant.
    pub fn settle(&mut self, field: &str, zone: Tz) -> Result<DateTime<Utc>> {
        let at = instant(field, self.instant_in(zone))?;
        *self = When::At(at);
        Ok(at)
    }

    fn parse(text: &str) -> Option<Self> {
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Some(When::At(at.with_timezone(&Utc)));
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(When::Day)
    }
}

impl From<DateTime<Utc>> for When {
    fn from(at: DateTime<Utc>) -> Self {
        When::At(at)
    }
}

impl serde::Serialize for When {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            When::Day(d) => d.serialize(s),
            When::At(at) => at.serialize(s),
        }
    }
}

impl<'de> serde::Deserialize<'de> for When {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = When;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(WHEN_EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<When, E> {
                When::parse(v).ok_or_else(|| E::custom(WHEN_EXPECTED))
            }
        }
        d.deserialize_str(Text)
    }
}

impl Type for When {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date_or_date_time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let of =
            |format| MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", format)));
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(
                "A date (`2026-12-31`: the end of that day in the tenant's time zone) or an \
                 RFC 3339 date-time. Answered as a date-time.",
            ),
            any_of: vec![of("date"), of("date-time")],
            // The longest RFC 3339 date-time is 35 characters; like every string of a
            // request, it has a documented maximum that the body check enforces.
            max_length: Some(40),
            example: Some(serde_json::json!("2026-12-31")),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for When {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        value
            .as_ref()
            .and_then(|v| v.as_str())
            .and_then(When::parse)
            .ok_or_else(|| ParseError::custom(WHEN_EXPECTED))
    }
}

impl ToJSON for When {
    fn to_json(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }
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

    #[test]
    fn a_day_ends_in_the_tenant_zone() {
        let w: When = serde_json::from_str("\"2026-12-31\"").unwrap();
        let brussels = w.instant_in(zone_of_country("BE"));
        assert_eq!(brussels.to_rfc3339(), "2026-12-31T22:59:59+00:00");
        let summer: When = serde_json::from_str("\"2026-07-01\"").unwrap();
        assert_eq!(
            summer.instant_in(zone_of_country("fr")).to_rfc3339(),
            "2026-07-01T21:59:59+00:00"
        );
        let at: When = serde_json::from_str("\"2026-12-31T10:00:00+01:00\"").unwrap();
        assert_eq!(at, When::At("2026-12-31T09:00:00Z".parse().unwrap()));
        assert!(serde_json::from_str::<When>("\"31/12/2026\"").is_err());
        let mut settled = w;
        settled.settle("deadline", zone_of_country("NL")).unwrap();
        assert_eq!(
            serde_json::to_value(settled).unwrap(),
            serde_json::json!("2026-12-31T22:59:59Z")
        );
    }
}
