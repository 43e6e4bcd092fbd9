//! Validation and normalisation of contact data: phone numbers (libphonenumber), Belgian
//! enterprise and national register numbers, EU VAT numbers, and the folding used by search.

use chrono::NaiveDate;
use forecourt_core::msg;
use forecourt_core::{Error, Result};
use unicode_normalization::UnicodeNormalization;

/// A language for mail and documents: `fr`, `nl` or `en`, from a code or a locale
/// (`nl-BE`, `fr_BE`, `EN`). `None` for anything else.
pub fn language(raw: &str) -> Option<String> {
    let primary = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    forecourt_core::mail::LANGUAGES
        .contains(&primary.as_str())
        .then_some(primary)
}

/// Parses a phone number written in any usual format, with `country` (ISO alpha-2) as the
/// default region, and returns it in E.164 (`+32470123456`).
pub fn phone(field: &str, raw: &str, country: &str) -> Result<String> {
    let region = country.parse::<phonenumber::country::Id>().ok();
    let parsed = phonenumber::parse(region, raw.trim())
        .map_err(|_| Error::invalid(field, msg!("`{raw}` is not a phone number", raw)))?;
    if !phonenumber::is_valid(&parsed) {
        return Err(Error::invalid(
            field,
            msg!("`{raw}` is not a valid phone number", raw),
        ));
    }
    Ok(parsed.format().mode(phonenumber::Mode::E164).to_string())
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The mod-97 check shared by Belgian enterprise and VAT numbers: the last two digits are
/// 97 minus the first eight modulo 97.
fn be_mod97(ten: &str) -> bool {
    let (Ok(base), Ok(check)) = (ten[..8].parse::<u64>(), ten[8..].parse::<u64>()) else {
        return false;
    };
    97 - base % 97 == check
}

/// A Belgian enterprise number (KBO/BCE): 10 digits starting with 0 or 1, mod-97 checked.
/// Dots, spaces and a `BE` prefix are accepted; stored as the 10 digits.
pub fn kbo(field: &str, raw: &str) -> Result<String> {
    let d = digits(raw);
    if d.len() != 10 || !(d.starts_with('0') || d.starts_with('1')) {
        return Err(Error::invalid(
            field,
            msg!("a Belgian enterprise number has 10 digits and starts with 0 or 1"),
        ));
    }
    if !be_mod97(&d) {
        return Err(Error::invalid(
            field,
            msg!("the check digits of this enterprise number are wrong"),
        ));
    }
    Ok(d)
}

/// A Belgian national register number (11 digits, mod-97, with the rule for births from 2000).
pub fn national_register(field: &str, raw: &str) -> Result<String> {
    let d = digits(raw);
    let ok = d.len() == 11 && {
        let base: u64 = d[..9].parse().unwrap_or(0);
        let check: u64 = d[9..].parse().unwrap_or(100);
        97 - base % 97 == check || 97 - (2_000_000_000 + base) % 97 == check
    };
    if ok {
        Ok(d)
    } else {
        Err(Error::invalid(
            field,
            msg!("not a valid Belgian national register number (11 digits)"),
        ))
    }
}

/// EU VAT number formats: `d` a digit, `a` a letter, `x` a letter or digit, anything else
/// literal. Several patterns per country where the format varies.
const VAT_FORMATS: &[(&str, &[&str])] = &[
    ("AT", &["Udddddddd"]),
    ("BE", &["dddddddddd"]),
    ("BG", &["ddddddddd", "dddddddddd"]),
    ("CY", &["dddddddda"]),
    ("CZ", &["dddddddd", "ddddddddd", "dddddddddd"]),
    ("DE", &["ddddddddd"]),
    ("DK", &["dddddddd"]),
    ("EE", &["ddddddddd"]),
    ("EL", &["ddddddddd"]),
    ("ES", &["xdddddddx"]),
    ("FI", &["dddddddd"]),
    ("FR", &["xxddddddddd"]),
    ("HR", &["ddddddddddd"]),
    ("HU", &["dddddddd"]),
    ("IE", &["ddddddda", "dddddddaa", "dxddddda"]),
    ("IT", &["ddddddddddd"]),
    ("LT", &["ddddddddd", "dddddddddddd"]),
    ("LU", &["dddddddd"]),
    ("LV", &["ddddddddddd"]),
    ("MT", &["dddddddd"]),
    ("NL", &["dddddddddBdd"]),
    ("PL", &["dddddddddd"]),
    ("PT", &["ddddddddd"]),
    (
        "RO",
        &[
            "dd",
            "ddd",
            "dddd",
            "ddddd",
            "dddddd",
            "ddddddd",
            "dddddddd",
            "ddddddddd",
            "dddddddddd",
        ],
    ),
    ("SE", &["dddddddddd01"]),
    ("SI", &["dddddddd"]),
    ("SK", &["dddddddddd"]),
    ("XI", &["ddddddddd", "dddddddddddd"]),
];

fn matches_format(body: &str, pattern: &str) -> bool {
    body.len() == pattern.len()
        && body.chars().zip(pattern.chars()).all(|(c, p)| match p {
            'd' => c.is_ascii_digit(),
            'a' => c.is_ascii_uppercase(),
            'x' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            lit => c == lit,
        })
}

/// An EU VAT number: country prefix and the country's format; Belgian numbers also pass the
/// mod-97 check. Spaces, dots and dashes are ignored; stored upper-case without separators.
pub fn vat(field: &str, raw: &str) -> Result<String> {
    let v: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_uppercase();
    let (country, body) = v.split_at(v.len().min(2));
    let Some((_, formats)) = VAT_FORMATS.iter().find(|(c, _)| *c == country) else {
        return Err(Error::invalid(
            field,
            msg!("a VAT number starts with an EU country code, e.g. BE0403170701"),
        ));
    };
    if !formats.iter().any(|f| matches_format(body, f)) {
        return Err(Error::invalid(
            field,
            msg!("not a valid {country} VAT number", country),
        ));
    }
    if country == "BE" && !(body.starts_with('0') || body.starts_with('1'))
        || country == "BE" && !be_mod97(body)
    {
        return Err(Error::invalid(
            field,
            msg!("the check digits of this Belgian VAT number are wrong"),
        ));
    }
    Ok(v)
}

/// A birth date: strictly in the past and not absurdly old.
pub fn birth_date(field: &str, date: NaiveDate, today: NaiveDate) -> Result<NaiveDate> {
    if date >= today {
        return Err(Error::invalid(field, msg!("a birth date is in the past")));
    }
    if today.years_since(date).unwrap_or(0) > 130 {
        return Err(Error::invalid(
            field,
            msg!("a birth date less than 130 years ago"),
        ));
    }
    Ok(date)
}

/// Whole years between `birth` and `today`.
pub fn age(birth: NaiveDate, today: NaiveDate) -> Option<u32> {
    today.years_since(birth)
}

/// Accent- and case-free form of a text: `Gérard Ménard` → `gerard menard`.
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

/// The words of a text, folded: letters and digits only.
pub fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The search forms of an E.164 number: international digits, national digits with the
/// trunk `0`, and without it, so `0470 12 34 56`, `+32 470...` and `470123456` all match.
pub fn phone_terms(e164: &str) -> Vec<String> {
    let mut out = vec![digits(e164)];
    if let Ok(p) = phonenumber::parse(None, e164) {
        let national = digits(&p.national().to_string());
        out.push(format!("0{national}"));
        out.push(national);
    }
    out.dedup();
    out
}

/// How a search query is read: one number, one email, one VAT number, or words.
pub fn query_tokens(q: &str) -> Vec<String> {
    let q = q.trim();
    let is_numberish = !q.is_empty()
        && q.chars()
            .all(|c| c.is_ascii_digit() || " +-./()".contains(c))
        && q.chars().filter(char::is_ascii_digit).count() >= 3;
    if is_numberish {
        let d = digits(q);
        // `0032 470...` is the same number as `+32 470...`.
        let d = d.strip_prefix("00").map(str::to_string).unwrap_or(d);
        return vec![d];
    }
    if q.contains('@') {
        return vec![fold(q).chars().filter(|c| !c.is_whitespace()).collect()];
    }
    let compact: String = q.chars().filter(|c| !" .-".contains(*c)).collect();
    // A VAT number: an EU country prefix, then mostly digits (names with a digit are words).
    let upper = compact.to_ascii_uppercase();
    let rest = upper.get(2..).unwrap_or("");
    let is_vat = VAT_FORMATS.iter().any(|(c, _)| upper.starts_with(c))
        && rest.len() >= 8
        && rest.chars().all(|c| c.is_ascii_alphanumeric())
        && rest.chars().filter(char::is_ascii_digit).count() >= 6;
    if is_vat {
        return vec![compact.to_lowercase()];
    }
    words(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_any_format_become_e164() {
        assert_eq!(phone("p", "0470 12 34 56", "BE").unwrap(), "+32470123456");
        assert_eq!(
            phone("p", "+32 (0)470/12.34.56", "BE").unwrap(),
            "+32470123456"
        );
        assert_eq!(phone("p", "0032470123456", "BE").unwrap(), "+32470123456");
        assert_eq!(phone("p", "06 12 34 56 78", "FR").unwrap(), "+33612345678");
        assert!(phone("p", "12", "BE").is_err());
        assert!(phone("p", "not a phone", "BE").is_err());
    }

    #[test]
    fn belgian_numbers_are_checked() {
        assert_eq!(kbo("n", "0403.170.701").unwrap(), "0403170701");
        assert!(kbo("n", "0403.170.702").is_err());
        assert!(kbo("n", "2403170701").is_err());
        assert_eq!(vat("v", "BE 0403.170.701").unwrap(), "BE0403170701");
        assert!(vat("v", "BE0403170702").is_err());
        assert_eq!(vat("v", "nl123456789B01").unwrap(), "NL123456789B01");
        assert!(vat("v", "NL123456789").is_err());
        assert_eq!(vat("v", "FRXX123456789").unwrap(), "FRXX123456789");
        assert!(vat("v", "US123").is_err());
        assert_eq!(
            national_register("n", "85.07.30-033.28").unwrap(),
            "85073003328"
        );
        assert!(national_register("n", "85073003329").is_err());
    }

    #[test]
    fn birth_dates_and_age() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let b = NaiveDate::from_ymd_opt(1990, 11, 23).unwrap();
        assert_eq!(age(b, today), Some(35));
        assert!(birth_date("b", today, today).is_err());
        assert!(birth_date("b", b, today).is_ok());
    }

    #[test]
    fn folding_and_query_reading() {
        assert_eq!(fold("Gérard MÉNARD"), "gerard menard");
        assert_eq!(
            words("Jean-Pierre d'Ursel"),
            vec!["jean", "pierre", "d", "ursel"]
        );
        assert_eq!(query_tokens("0470 12 34 56"), vec!["0470123456"]);
        assert_eq!(query_tokens("+32 470 12 34 56"), vec!["32470123456"]);
        assert_eq!(query_tokens("Ann@Garage.be"), vec!["ann@garage.be"]);
        assert_eq!(query_tokens("BE 0403.170.701"), vec!["be0403170701"]);
        assert_eq!(query_tokens("gérard dup"), vec!["gerard", "dup"]);
        assert_eq!(
            query_tokens("Lead-a2b66de57d7e"),
            vec!["lead", "a2b66de57d7e"]
        );
        assert_eq!(query_tokens("nl 123456789 B01"), vec!["nl123456789b01"]);
        assert!(phone_terms("+32470123456").contains(&"0470123456".to_string()));
        assert!(phone_terms("+32470123456").contains(&"32470123456".to_string()));
    }
}
