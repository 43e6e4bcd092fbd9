//! How a contact matches and ranks for a query's tokens, in process: the one definition used
//! both to rank the rows a cold search reads and to answer a longer query from a cached
//! candidate set, so a keystroke answered from the cache ranks exactly as the database would.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A query reads at most this many tokens (the rest of the words narrow nothing useful and
/// would make one statement of unbounded size).
pub const MAX_TOKENS: usize = 6;

/// Whether `term` matches `token` exactly as the index range `term >= token AND term <
/// token || '{'` selects it (byte order, the `C` collation on PostgreSQL): `term` starts with
/// `token` and the byte after it, if any, sorts before `{`. Terms are folded to ASCII no
/// greater than `z`, so in practice this is "starts with", but the database's rule is the one
/// that must hold.
pub fn matches(term: &str, token: &str) -> bool {
    term.starts_with(token) && term.as_bytes().get(token.len()).is_none_or(|b| *b < b'{')
}

/// The score one term gives one token: its weight, doubled when the term is the whole token
/// (exact words rank above prefixes). The SQL of `query` computes the same expression.
pub fn term_score(term: &str, weight: i32, token: &str) -> i32 {
    if term == token { weight * 2 } else { weight }
}

/// A contact that matched a query, with every search term it has that counts (those of
/// hidden modules left out): enough to decide in process whether it matches a longer query.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Candidate {
    /// The contact.
    pub id: Uuid,
    /// Its terms and their weights.
    pub terms: Vec<(String, i32)>,
}

impl Candidate {
    /// The contact's score for `tokens` (for each token its best term, summed), or `None`
    /// when a token matches none of its terms.
    pub fn score(&self, tokens: &[String]) -> Option<i64> {
        let mut total = 0i64;
        for token in tokens {
            let best = self
                .terms
                .iter()
                .filter(|(term, _)| matches(term, token))
                .map(|(term, weight)| term_score(term, *weight, token))
                .max()?;
            total += i64::from(best);
        }
        Some(total)
    }
}

/// Best first: the highest score, then the smallest contact id (UUIDv7, so the oldest): a
/// total order, so the same candidates always give the same page.
pub fn best_first(mut scored: Vec<(Uuid, i64)>, limit: u64) -> Vec<Uuid> {
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|(id, _)| id)
        .collect()
}

/// The candidates matching every token, best first, at most `limit`.
pub fn rank(candidates: &[Candidate], tokens: &[String], limit: u64) -> Vec<Uuid> {
    best_first(
        candidates
            .iter()
            .filter_map(|c| Some((c.id, c.score(tokens)?)))
            .collect(),
        limit,
    )
}

/// Per-token scores of the rows a cold search read (a contact may come once per term of the
/// rarest token), folded into one total per contact: the best score of each token, summed.
pub fn fold_rows(rows: impl IntoIterator<Item = (Uuid, Vec<i32>)>) -> Vec<(Uuid, i64)> {
    let mut best: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
    for (id, scores) in rows {
        let entry = best.entry(id).or_insert_with(|| scores.clone());
        for (b, s) in entry.iter_mut().zip(scores) {
            *b = (*b).max(s);
        }
    }
    best.into_iter()
        .map(|(id, s)| (id, s.into_iter().map(i64::from).sum()))
        .collect()
}

/// The earlier queries whose complete candidate set contains every answer of `tokens`, the
/// longest first, at most `at_most`: the keystrokes that typed it, i.e. the last word ever
/// shorter, then the words before it, and so on back to the first letter. Any contact
/// matching `tokens` matches each of them, since each of their tokens is a prefix of the
/// token of `tokens` at the same place.
pub fn narrower_than(tokens: &[String], at_most: usize) -> Vec<Vec<String>> {
    let mut out = vec![];
    for (i, word) in tokens.iter().enumerate().rev() {
        if i + 1 < tokens.len() {
            out.push(tokens[..=i].to_vec());
        }
        let cuts: Vec<usize> = word.char_indices().skip(1).map(|(at, _)| at).collect();
        for at in cuts.into_iter().rev() {
            let mut shorter = tokens[..i].to_vec();
            shorter.push(word[..at].to_string());
            out.push(shorter);
        }
        if out.len() >= at_most {
            break;
        }
    }
    out.truncate(at_most);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn a_term_matches_a_token_as_the_index_range_does() {
        assert!(matches("gerard", "ger"));
        assert!(matches("gerard", "gerard"));
        assert!(!matches("gerard", "gerardo"));
        assert!(!matches("ger", "gerard"));
        assert!(matches("gerard.menard@x.be", "gerard.m"));
        // `{` and above lie outside `[token, token || '{')`.
        assert!(!matches("ger{", "ger"));
        assert!(!matches("ger~", "ger"));
    }

    #[test]
    fn exact_words_rank_above_prefixes_then_the_oldest_first() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let cands = vec![
            Candidate {
                id: c,
                terms: vec![("peeters".into(), 3)],
            },
            Candidate {
                id: a,
                terms: vec![("peetersen".into(), 3)],
            },
            Candidate {
                id: b,
                terms: vec![("peeters".into(), 3), ("anne".into(), 3)],
            },
        ];
        assert_eq!(rank(&cands, &toks("peeters"), 10), vec![b, c, a]);
        assert_eq!(rank(&cands, &toks("peet"), 10), vec![a, b, c]);
        assert_eq!(rank(&cands, &toks("peeters an"), 10), vec![b]);
        assert_eq!(rank(&cands, &toks("peeters"), 1), vec![b]);
        assert!(rank(&cands, &toks("x"), 10).is_empty());
    }

    #[test]
    fn rows_fold_to_the_best_score_of_each_token() {
        let a = Uuid::from_u128(1);
        let folded = fold_rows([(a, vec![3, 6]), (a, vec![6, 6]), (a, vec![1, 6])]);
        assert_eq!(folded, vec![(a, 12)]);
    }

    #[test]
    fn the_narrower_queries_are_the_keystrokes_before() {
        assert_eq!(
            narrower_than(&toks("ger me"), 10),
            vec![toks("ger m"), toks("ger"), toks("ge"), toks("g")]
        );
        assert_eq!(
            narrower_than(&toks("ger m"), 10),
            vec![toks("ger"), toks("ge"), toks("g")]
        );
        assert_eq!(
            narrower_than(&toks("gera"), 10),
            vec![toks("ger"), toks("ge"), toks("g")]
        );
        assert_eq!(
            narrower_than(&toks("gera"), 2),
            vec![toks("ger"), toks("ge")]
        );
        assert!(narrower_than(&toks("g"), 10).is_empty());
    }
}
