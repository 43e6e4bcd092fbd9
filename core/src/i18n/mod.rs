//! The caller's language for every text a client reads in an answer (the `title` and `detail`
//! of problems): one catalogue per language, keyed by the English text the code writes.
//!
//! The code writes a message in English with [`msg!`](crate::msg), naming the values it
//! carries (`msg!("at most {max} characters", max = 60)`). The English text is the key: a
//! catalogue (`fr.toml`, `nl.toml` beside this file) maps it to the translation, whose
//! placeholders are the same names. English needs no catalogue. A test of the workspace
//! (`tests/tests/catalogue.rs`) collects every key the sources write and refuses a catalogue
//! that lacks one, holds one no source writes any more, or changes a placeholder.
//!
//! Which language: [`Lang::negotiate`] reads `Accept-Language`; without a supported language
//! there, the tenant's language decides; English otherwise.

use std::{collections::HashMap, fmt, sync::OnceLock};

/// A language answers are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// English, the language the code writes in.
    #[default]
    En,
    /// French.
    Fr,
    /// Dutch.
    Nl,
}

impl Lang {
    /// Every language with a catalogue, English first.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Nl];

    /// The language of a tag (`fr`, `fr-BE`, `NL`); `None` for one we do not write.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            "nl" => Some(Lang::Nl),
            _ => None,
        }
    }

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Nl => "nl",
        }
    }

    /// The most preferred language of an `Accept-Language` header that we write (RFC 9110
    /// quality values; equal qualities keep the header's order; `q=0` means "not this one").
    /// `None` when the header names none of ours (`*` alone included: the tenant decides).
    pub fn negotiate(header: &str) -> Option<Lang> {
        let mut best: Option<(u16, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::from_tag) else {
                continue;
            };
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_quality);
            match quality {
                Some(q) if q > 0 && best.is_none_or(|(b, _)| q > b) => best = Some((q, lang)),
                _ => {}
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The translations of this language (empty for English, whose keys are the text).
    pub fn catalogue(self) -> &'static HashMap<String, String> {
        static CATALOGUES: OnceLock<[HashMap<String, String>; 3]> = OnceLock::new();
        let all = CATALOGUES.get_or_init(|| {
            [
                HashMap::new(),
                parse_catalogue(include_str!("fr.toml")),
                parse_catalogue(include_str!("nl.toml")),
            ]
        });
        &all[self as usize]
    }
}

/// A quality value (`0`, `0.5`, `1.000`) in thousandths; `None` if malformed.
fn parse_quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

/// A catalogue's text: a flat TOML table of English key to translation. The catalogue test
/// parses the same files, so a file that does not parse fails it; here it is empty instead of
/// a panic, and every message falls back to English.
fn parse_catalogue(text: &str) -> HashMap<String, String> {
    match toml::from_str::<HashMap<String, String>>(text) {
        Ok(map) => map,
        Err(e) => {
            tracing::error!(error = %e, "a message catalogue does not parse; answering in English");
            HashMap::new()
        }
    }
}

/// A text for a client, in English with named values, rendered in the caller's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    key: &'static str,
    args: Vec<(&'static str, Arg)>,
}

/// A value placed into a message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    /// Data (a number, a name, a list of accepted values): never translated.
    Text(String),
    /// A word of the catalogue (the name of a kind of record): translated like the message.
    Term(&'static str),
}

impl Msg {
    /// A message; write it with [`msg!`](crate::msg), which is what the catalogue test reads.
    #[doc(hidden)]
    pub fn new(key: &'static str) -> Self {
        Msg {
            key,
            args: Vec::new(),
        }
    }

    /// Places a value for the placeholder `{name}`.
    #[doc(hidden)]
    pub fn with(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.args.push((name, Arg::Text(value.to_string())));
        self
    }

    /// Places a catalogue word for `{name}`: the kind of record in "{what} not found". Write
    /// the word with [`term!`](crate::term) so the catalogue test sees it.
    #[doc(hidden)]
    pub fn with_term(mut self, name: &'static str, term: Term) -> Self {
        self.args.push((name, Arg::Term(term.0)));
        self
    }

    /// The English text the code wrote, before values are placed: the catalogue key.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The message in `lang`, its values placed.
    pub fn render(&self, lang: Lang) -> String {
        let template = translate(self.key, lang);
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let value = after.find('}').and_then(|close| {
                let name = &after[..close];
                let arg = self.args.iter().find(|(n, _)| *n == name)?;
                Some((close, arg))
            });
            match value {
                Some((close, (_, Arg::Text(text)))) => {
                    out.push_str(text);
                    rest = &after[close + 1..];
                }
                Some((close, (_, Arg::Term(term)))) => {
                    out.push_str(translate(term, lang));
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// A word of the catalogue that is placed into messages (the kinds of records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term(pub &'static str);

fn translate(key: &'static str, lang: Lang) -> &'static str {
    lang.catalogue().get(key).map_or(key, String::as_str)
}

impl fmt::Display for Msg {
    /// English: what logs and stored records carry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

/// A [`Msg`]: `msg!("at most {max} characters", max = n)`; a value named like the placeholder
/// may be written alone (`msg!("at most {max} characters", max)`). The first argument must be
/// a string literal: it is the catalogue key the catalogue test collects.
#[macro_export]
macro_rules! msg {
    ($key:literal $(,)?) => {
        $crate::i18n::Msg::new($key)
    };
    ($key:literal, $($name:ident $(= $value:expr)?),+ $(,)?) => {
        $crate::i18n::Msg::new($key)$(.with(stringify!($name), $crate::__msg_value!($name $(, $value)?)))+
    };
}

/// The value of one `msg!` argument.
#[doc(hidden)]
#[macro_export]
macro_rules! __msg_value {
    ($name:ident) => {
        &$name
    };
    ($name:ident, $value:expr) => {
        $value
    };
}

/// A word of the catalogue: `term!("contact")`.
#[macro_export]
macro_rules! term {
    ($word:literal) => {
        $crate::i18n::Term($word)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_quality_then_order() {
        assert_eq!(Lang::negotiate("nl-BE,nl;q=0.9,fr;q=0.8"), Some(Lang::Nl));
        assert_eq!(Lang::negotiate("de-DE, fr;q=0.5, en;q=0.4"), Some(Lang::Fr));
        assert_eq!(Lang::negotiate("en;q=0.2, fr"), Some(Lang::Fr));
        assert_eq!(Lang::negotiate("fr;q=0, nl;q=0.1"), Some(Lang::Nl));
        assert_eq!(Lang::negotiate("de, *"), None);
        assert_eq!(Lang::negotiate(""), None);
        assert_eq!(Lang::negotiate("fr;q=abc"), None);
    }

    #[test]
    fn values_are_placed_and_unknown_braces_kept() {
        let n = 3;
        let m = crate::msg!("at most {n} of {what}", n, what = "x{y}");
        assert_eq!(m.render(Lang::En), "at most 3 of x{y}");
        assert_eq!(Msg::new("a {b} c").render(Lang::En), "a {b} c");
    }
}
