//! The input rules of statuses, each refusal a 422 naming its field.

use forecourt_core::msg;
use forecourt_core::{Error, Result, ports::statuses::StatusEntity};

/// The entity of a query parameter: `opportunity` or `prospect` (422 on `entity`).
pub fn entity(raw: &str) -> Result<StatusEntity> {
    StatusEntity::parse(raw).ok_or_else(|| {
        let known: Vec<&str> = StatusEntity::ALL.iter().map(|e| e.as_str()).collect();
        Error::invalid(
            "entity",
            msg!(
                "not an entity with statuses: one of {known}",
                known = known.join(", ")
            ),
        )
    })
}

/// A status key: `^[a-z][a-z0-9_]{0,39}$` (422 on `key`).
pub fn key(raw: &str) -> Result<String> {
    let mut chars = raw.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok || raw.len() > 40 {
        return Err(Error::invalid(
            "key",
            msg!(
                "a key is 1 to 40 characters: a lower-case letter, then lower-case letters, \
             digits and `_`"
            ),
        ));
    }
    Ok(raw.to_string())
}

/// One label: trimmed, 1 to 100 characters (422 on `labels.<lang>`).
pub fn label(lang: &str, raw: Option<&str>) -> Result<String> {
    let field = format!("labels.{lang}");
    let text = raw.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(Error::invalid(
            field,
            msg!("every status has a label in fr, nl and en"),
        ));
    }
    if text.chars().count() > 100 {
        return Err(Error::invalid(field, msg!("at most 100 characters")));
    }
    Ok(text.to_string())
}

/// A probability in percent, 0 to 100 (422 on `probability`).
pub fn probability(p: i64) -> Result<i32> {
    if (0..=100).contains(&p) {
        Ok(p as i32)
    } else {
        Err(Error::invalid(
            "probability",
            msg!("a percentage from 0 to 100"),
        ))
    }
}

/// A colour `#rrggbb`, stored lower-case (422 on `colour`).
pub fn colour(raw: &str) -> Result<String> {
    let c = raw.trim().to_ascii_lowercase();
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
    if ok {
        Ok(c)
    } else {
        Err(Error::invalid(
            "colour",
            msg!("a colour is `#rrggbb` (hexadecimal)"),
        ))
    }
}

/// A field a transition may require: one the record's owner checks (see
/// `StatusEntity::requirable_fields`); any other name is refused with the list.
pub fn field_name(entity: StatusEntity, field: &str, raw: &str) -> Result<String> {
    let known = entity.requirable_fields();
    if known.contains(&raw) {
        Ok(raw.to_string())
    } else {
        Err(Error::invalid(
            field,
            msg!(
                "`{raw}` is not a field a {entity} can be required to have: one of {known}",
                raw,
                entity = entity.as_str(),
                known = known.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: Error) -> String {
        e.problem().field.unwrap_or_default()
    }

    #[test]
    fn keys_are_slugs() {
        assert_eq!(key("offer_sent").unwrap(), "offer_sent");
        assert!(key("a").is_ok() && key(&format!("a{}", "b".repeat(39))).is_ok());
        for bad in ["", "Offer", "1st", "_x", "offer-sent", "é", &"a".repeat(41)] {
            assert_eq!(field_of(key(bad).unwrap_err()), "key", "{bad}");
        }
    }

    #[test]
    fn labels_probability_colour_and_entity_name_their_field() {
        assert_eq!(label("fr", Some("  Gagné ")).unwrap(), "Gagné");
        assert_eq!(field_of(label("nl", Some("  ")).unwrap_err()), "labels.nl");
        assert_eq!(field_of(label("en", None).unwrap_err()), "labels.en");
        assert_eq!(probability(100).unwrap(), 100);
        assert_eq!(field_of(probability(101).unwrap_err()), "probability");
        assert_eq!(field_of(probability(-1).unwrap_err()), "probability");
        assert_eq!(colour("#A1B2C3").unwrap(), "#a1b2c3");
        for bad in ["a1b2c3", "#a1b2c", "#ggg000", "#a1b2c3d"] {
            assert_eq!(field_of(colour(bad).unwrap_err()), "colour", "{bad}");
        }
        assert_eq!(entity("prospect").unwrap(), StatusEntity::Prospect);
        assert_eq!(field_of(entity("project").unwrap_err()), "entity");
        let opp = StatusEntity::Opportunity;
        assert!(field_name(opp, "f", "source_id").is_ok());
        assert_eq!(field_of(field_name(opp, "f", "Offer").unwrap_err()), "f");
        assert!(field_name(StatusEntity::Prospect, "f", "source_id").is_err());
    }
}
