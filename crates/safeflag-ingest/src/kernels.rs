//! Column kernels for the contract's text rules.
//!
//! These run over a whole column at a time inside the lazy plan (through
//! `Expr::map`), so they keep the plan columnar and parallel across columns.
//! They exist because the pure-expression form (`strip_chars`, then
//! `to_lowercase`, then `is_in` or a `when` chain) allocates a lowercased copy
//! of every value of every column: on 1,000,000 rows that plan took 4.6 s of a
//! 5.6 s validation (docs/performance.md). Comparing ASCII case-insensitively
//! against the few allowed spellings needs no allocation at all.

use polars::prelude::*;
use safeflag_core::contract::{FALSE_SPELLINGS, MISSING_SPELLINGS, TRUE_SPELLINGS};

/// Whether a trimmed value is one of the contract's missing spellings.
pub fn is_missing(trimmed: &str) -> bool {
    trimmed.is_empty()
        || (trimmed.len() <= LONGEST_MISSING
            && MISSING_SPELLINGS
                .iter()
                .any(|m| trimmed.eq_ignore_ascii_case(m)))
}

/// The longest missing-value spelling, in bytes: a longer value is not one.
const LONGEST_MISSING: usize = {
    let mut i = 0;
    let mut n = 0;
    while i < MISSING_SPELLINGS.len() {
        if MISSING_SPELLINGS[i].len() > n {
            n = MISSING_SPELLINGS[i].len();
        }
        i += 1;
    }
    n
};

/// Whether `v` has no leading or trailing whitespace, looking only at its two
/// end bytes when they are ASCII (almost always): `str::trim` on every value
/// of every text column was 4% of a 5M-row run's CPU.
fn is_trimmed(v: &str) -> bool {
    match (v.as_bytes().first(), v.as_bytes().last()) {
        (Some(&a), Some(&b)) if a.is_ascii() && b.is_ascii() => {
            !(a as char).is_whitespace() && !(b as char).is_whitespace()
        }
        (None, _) => true,
        _ => v.trim().len() == v.len(),
    }
}

/// Trims every value and turns the missing spellings into nulls. A column
/// that needs neither (most columns of a clean extract) is returned as it is,
/// sharing its buffers, so validation does not copy every text column.
pub fn clean_text(ca: &StringChunked) -> StringChunked {
    let clean = ca.iter().flatten().all(|v| is_trimmed(v) && !is_missing(v));
    if clean {
        return ca.clone();
    }
    let mut out: StringChunked = ca
        .iter()
        .map(|v| v.map(str::trim).filter(|t| !is_missing(t)))
        .collect();
    out.rename(ca.name().clone());
    out
}

/// Maps cleaned values to canonical codes, case-insensitively: agency codes
/// first, then the canonical codes themselves. Anything else becomes null.
pub fn match_codes(
    ca: &StringChunked,
    canonical: &[&'static str],
    agency: &[(String, String)],
) -> StringChunked {
    // Already canonical everywhere (the usual case): share the buffers.
    if agency.is_empty() && ca.iter().flatten().all(|v| canonical.contains(&v)) {
        return ca.clone();
    }
    let mut out: StringChunked = ca
        .iter()
        .map(|v| {
            let v = v?;
            agency
                .iter()
                .find(|(a, _)| v.eq_ignore_ascii_case(a))
                .map(|(_, c)| c.as_str())
                .or_else(|| {
                    canonical
                        .iter()
                        .find(|c| v.eq_ignore_ascii_case(c))
                        .copied()
                })
        })
        .collect();
    out.rename(ca.name().clone());
    out
}

/// Parses cleaned values as booleans in the contract's spellings (and agency
/// codes, checked first). Anything else becomes null.
pub fn parse_bools(ca: &StringChunked, agency: &[(String, bool)]) -> BooleanChunked {
    let mut out: BooleanChunked = ca
        .iter()
        .map(|v| {
            let v = v?;
            if let Some((_, b)) = agency.iter().find(|(a, _)| v.eq_ignore_ascii_case(a)) {
                Some(*b)
            } else if TRUE_SPELLINGS.iter().any(|t| v.eq_ignore_ascii_case(t)) {
                Some(true)
            } else if FALSE_SPELLINGS.iter().any(|f| v.eq_ignore_ascii_case(f)) {
                Some(false)
            } else {
                None
            }
        })
        .collect();
    out.rename(ca.name().clone());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca(values: &[Option<&str>]) -> StringChunked {
        StringChunked::from_iter_options("x".into(), values.iter().copied())
    }

    #[test]
    fn trimmed_agrees_with_str_trim() {
        for v in [
            "",
            "a",
            " a",
            "a ",
            "\ta",
            "a\n",
            "\u{b}a",
            "a\u{c}",
            "\u{a0}a",
            "a\u{2003}",
            "é",
            "ab c",
        ] {
            assert_eq!(is_trimmed(v), v.trim() == v, "{v:?}");
        }
        assert_eq!(LONGEST_MISSING, 4);
    }

    #[test]
    fn clean_trims_and_nulls_missing_spellings() {
        let out = clean_text(&ca(&[
            Some("  a b "),
            Some(""),
            Some(" NA"),
            Some("n/A"),
            Some("Null "),
            None,
            Some("nan"),
        ]));
        let got: Vec<_> = out.iter().collect();
        assert_eq!(
            got,
            vec![Some("a b"), None, None, None, None, None, Some("nan")]
        );
    }

    #[test]
    fn codes_match_any_case_agency_first() {
        let agency = vec![("ih".to_string(), "in_home".to_string())];
        let out = match_codes(
            &ca(&[Some("IN_HOME"), Some("Ih"), Some("foster"), None]),
            &["investigation", "in_home"],
            &agency,
        );
        let got: Vec<_> = out.iter().collect();
        assert_eq!(got, vec![Some("in_home"), Some("in_home"), None, None]);
    }

    #[test]
    fn bools_in_all_spellings() {
        let out = parse_bools(
            &ca(&[
                Some("Y"),
                Some("no"),
                Some("TRUE"),
                Some("0"),
                Some("maybe"),
                Some("D"),
            ]),
            &[("d".into(), true)],
        );
        let got: Vec<_> = out.iter().collect();
        assert_eq!(
            got,
            vec![
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                None,
                Some(true)
            ]
        );
    }
}
