//! The report's parameters: the period of creation dates and the grouping, parsed strictly so
//! a 422 names the offending parameter.

use chrono::{DateTime, Days, NaiveDate, Utc};
use forecourt_core::msg;
use forecourt_core::{
    Error, Result,
    ports::opportunity_facts::{CreatedWithin, LeadSplit},
};
use poem_openapi::{
    Enum,
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseFromParameter, ParseResult},
};
use std::borrow::Cow;

/// A dimension the lead-source report is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "LeadSourceReportDimension", rename_all = "snake_case")]
pub enum Dimension {
    /// The opportunity's lead source (always applied).
    Source,
    /// The opportunity's establishment.
    Establishment,
    /// The user the opportunity is assigned to.
    User,
}

/// How rows are split: always by source, and optionally by establishment and/or user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grouping {
    /// One row per source × establishment.
    pub establishment: bool,
    /// One row per source × assigned user.
    pub user: bool,
}

impl Grouping {
    /// Parses the `group_by` parameter: a comma-separated list of `source`, `establishment`,
    /// `user`, in any order, spaces around items ignored; absent or blank means `source`.
    pub fn parse(raw: Option<&str>) -> Result<Self> {
        let mut g = Grouping::default();
        let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
            return Ok(g);
        };
        for item in raw.split(',').map(str::trim) {
            match item {
                "source" => {}
                "establishment" => g.establishment = true,
                "user" => g.user = true,
                "" => {
                    return Err(Error::invalid(
                        "group_by",
                        msg!(
                            "empty item in the list; use a comma-separated list of `source`, \
                         `establishment`, `user`"
                        ),
                    ));
                }
                other => {
                    return Err(Error::invalid(
                        "group_by",
                        msg!(
                            "unknown grouping `{other}`; use a comma-separated list of \
                             `source`, `establishment`, `user`",
                            other
                        ),
                    ));
                }
            }
        }
        Ok(g)
    }

    /// Whether rows are per source only.
    pub fn source_only(&self) -> bool {
        !self.establishment && !self.user
    }

    /// The dimensions applied, in row order.
    pub fn dimensions(&self) -> Vec<Dimension> {
        let mut d = vec![Dimension::Source];
        if self.establishment {
            d.push(Dimension::Establishment);
        }
        if self.user {
            d.push(Dimension::User);
        }
        d
    }
}

/// The creation dates counted: whole UTC days, both ends included, each end optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    /// First day counted, from 00:00 UTC.
    pub from: Option<NaiveDate>,
    /// Last day counted, through 23:59:59.999… UTC.
    pub to: Option<NaiveDate>,
}

/// Parses a `YYYY-MM-DD` parameter; blank means absent.
fn parse_day(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !str::is_empty(r)) else {
        return Ok(None);
    };
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        // chrono accepts `2025-1-5`; the contract is the zero-padded ISO 8601 form.
        .filter(|d| d.format("%Y-%m-%d").to_string() == raw)
        .ok_or_else(|| {
            Error::invalid(
                field,
                msg!(
                    "`{raw}` is not a date; use YYYY-MM-DD, e.g. 2025-03-31",
                    raw
                ),
            )
        })
        // A year PostgreSQL's timestamps cannot hold would fail the query with a 500.
        .and_then(|d| forecourt_core::dates::day(field, d))
        .map(Some)
}

impl Period {
    /// Parses `from` and `to`; `from` after `to` is a 422 on `from`.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self> {
        let p = Period {
            from: parse_day("from", from)?,
            to: parse_day("to", to)?,
        };
        if let (Some(f), Some(t)) = (p.from, p.to)
            && f > t
        {
            return Err(Error::invalid(
                "from",
                msg!("`from` ({f}) is after `to` ({t})", f, t),
            ));
        }
        Ok(p)
    }

    /// The first instant counted.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.from
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
    }

    /// The first instant no longer counted: midnight UTC after `to` (none after the last day
    /// chrono knows).
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.to
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
    }
}

/// Accepts any text so the handler can validate it and name the field in the 422 (a
/// poem-openapi parse failure would not); documented as an ISO 8601 date.
#[derive(Debug, Clone)]
pub struct DateParam(pub String);

// `Type` stays unimported: its `is_empty` would shadow `str::is_empty` on `&&str`.
impl poem_openapi::types::Type for DateParam {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            example: Some(serde_json::json!("2025-03-31")),
            ..MetaSchema::new_with_format("string", "date")
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

impl ParseFromParameter for DateParam {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_string()))
    }
}

impl From<Grouping> for LeadSplit {
    fn from(g: Grouping) -> Self {
        LeadSplit {
            establishment: g.establishment,
            user: g.user,
        }
    }
}

impl From<&Period> for CreatedWithin {
    fn from(p: &Period) -> Self {
        CreatedWithin {
            from: p.start(),
            before: p.end(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_by_is_parsed_strictly() {
        assert_eq!(Grouping::parse(None).unwrap(), Grouping::default());
        assert_eq!(Grouping::parse(Some(" ")).unwrap(), Grouping::default());
        assert_eq!(
            Grouping::parse(Some("source")).unwrap(),
            Grouping::default()
        );
        let both = Grouping {
            establishment: true,
            user: true,
        };
        assert_eq!(Grouping::parse(Some("user, establishment")).unwrap(), both);
        assert_eq!(
            Grouping::parse(Some("source,establishment,user")).unwrap(),
            both
        );
        assert_eq!(
            both.dimensions(),
            vec![Dimension::Source, Dimension::Establishment, Dimension::User]
        );
        for bad in ["month", "establishment,", "Source", "establishment;user"] {
            match Grouping::parse(Some(bad)) {
                Err(Error::Validation { field, .. }) => assert_eq!(field, "group_by", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn period_is_whole_utc_days() {
        let p = Period::parse(Some("2025-03-01"), Some("2025-03-31")).unwrap();
        assert_eq!(p.start().unwrap().to_rfc3339(), "2025-03-01T00:00:00+00:00");
        assert_eq!(p.end().unwrap().to_rfc3339(), "2025-04-01T00:00:00+00:00");
        let one = Period::parse(Some("2025-03-01"), Some("2025-03-01")).unwrap();
        assert_eq!(one.end().unwrap().to_rfc3339(), "2025-03-02T00:00:00+00:00");
        assert_eq!(Period::parse(None, Some("")).unwrap(), Period::default());
        let field = |from: Option<&str>, to: Option<&str>| match Period::parse(from, to) {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{from:?} {to:?}: {other:?}"),
        };
        assert_eq!(field(Some("2025-04-01"), Some("2025-03-31")), "from");
        assert_eq!(field(Some("2025-02-30"), None), "from");
        assert_eq!(field(Some("2025-3-1"), None), "from");
        assert_eq!(field(None, Some("yesterday")), "to");
        assert_eq!(field(None, Some("2025-03-01T00:00:00Z")), "to");
    }
}
