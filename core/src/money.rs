//! Money: one type for every amount the API takes or answers, in integer cents.

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde::{Deserialize, Deserializer, Serialize, de};
use std::borrow::Cow;

/// An amount of euros in integer cents (`2590000` is €25,900.00), from 0 to [`Money::MAX`].
/// Integers because a float cannot hold every cent exactly and every client generator maps an
/// `int64` exactly; never negative because no price, discount or valuation of a dealer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Money(i64);

/// What a client is told when an amount is refused.
const EXPECTED: &str =
    "an amount in integer cents (2590000 for 25,900.00 euros), from 0 to 10000000000";

impl Money {
    /// The largest amount: €100,000,000.00.
    pub const MAX: i64 = 10_000_000_000;
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// `cents`, when it lies in 0..=[`Money::MAX`].
    pub fn from_cents(cents: i64) -> Option<Self> {
        (0..=Self::MAX).contains(&cents).then_some(Self(cents))
    }

    /// An amount in euros as a partner writes it (`25900.5`), rounded to the cent; `None`
    /// when it is not a finite amount in range.
    pub fn from_euros(euros: f64) -> Option<Self> {
        if !euros.is_finite() {
            return None;
        }
        let cents = (euros * 100.0).round();
        if cents < 0.0 || cents > Self::MAX as f64 {
            return None;
        }
        Self::from_cents(cents as i64)
    }

    /// The amount in cents.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// `self - other`, `None` when it would be negative.
    pub fn minus(self, other: Money) -> Option<Money> {
        Self::from_cents(self.0 - other.0)
    }
}

/// Euros with two decimals (`25900.00`), for documents people read.
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Cents;
        impl de::Visitor<'_> for Cents {
            type Value = Money;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                Money::from_cents(v).ok_or_else(|| E::custom(EXPECTED))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(Money::from_cents)
                    .ok_or_else(|| E::custom(EXPECTED))
            }
            // A decimal (`25900.0`) is an amount in euros from before cents: refused, not
            // guessed at.
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Money, E> {
                Err(E::custom(EXPECTED))
            }
        }
        d.deserialize_any(Cents)
    }
}

impl Type for Money {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "integer_cents".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some("An amount in integer cents: 2590000 is 25,900.00 euros."),
            minimum: Some(0.0),
            maximum: Some(Self::MAX as f64),
            example: Some(serde_json::json!(2590000)),
            ..MetaSchema::new_with_format("integer", "int64")
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

impl ParseFromJSON for Money {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        serde_json::from_value(value).map_err(|_| ParseError::custom(EXPECTED))
    }
}

impl ToJSON for Money {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(self.0.into())
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn cents_round_trip_and_decimals_are_refused() {
        let m: Money = serde_json::from_str("2590000").unwrap();
        assert_eq!(m.cents(), 2_590_000);
        assert_eq!(serde_json::to_string(&m).unwrap(), "2590000");
        assert_eq!(m.to_string(), "25900.00");
        assert!(serde_json::from_str::<Money>("25900.0").is_err());
        assert!(serde_json::from_str::<Money>("-1").is_err());
        assert!(serde_json::from_str::<Money>("\"100\"").is_err());
        assert!(serde_json::from_str::<Money>("10000000001").is_err());
        assert_eq!(
            Money::from_euros(25900.5).map(Money::cents),
            Some(2_590_050)
        );
        assert_eq!(Money::from_euros(-1.0), None);
        assert_eq!(
            Money::from_cents(5).map(|m| m.to_string()),
            Some("0.05".into())
        );
    }
}
