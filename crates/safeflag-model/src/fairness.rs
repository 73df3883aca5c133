//! The fairness audit: error rates by group at the queue's cut-off.
//!
//! Follows the aequitas convention: each group's metric is divided by the
//! reference group's, and a ratio outside 0.8-1.25 is marked. For an
//! assistive intervention like coaching, a group that is under-flagged among
//! children who were later hurt (high FNR, high FOR) is the harm to watch;
//! FDR matters too, since false flags bring scrutiny. Groups with too few
//! positives to judge are marked so, instead of dividing by (nearly) zero.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The grouping of children by age band (`age_bands` of the features).
pub const AGE_BAND: &str = "age_band";

/// The label of rows whose group is missing.
pub const MISSING_GROUP: &str = "(missing)";
/// Ratios outside `[LOW, HIGH]` are marked.
pub const RATIO_BAND: (f64, f64) = (0.8, 1.25);

/// Audit options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessOptions {
    /// The reference group; `None` means the largest group.
    pub reference: Option<String>,
    /// Groups with fewer positives than this are too small to judge error rates.
    pub min_positives: usize,
}

impl Default for FairnessOptions {
    fn default() -> Self {
        FairnessOptions {
            reference: None,
            min_positives: 30,
        }
    }
}

/// One group's row of the audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupAudit {
    /// Group name.
    pub group: String,
    /// Rows in the group.
    pub n: usize,
    /// Flagged rows.
    pub flagged: usize,
    /// `flagged / n`.
    pub flag_rate: f64,
    /// Positives (with outcomes), else `None`.
    pub positives: Option<usize>,
    /// Outcome rate.
    pub prevalence: Option<f64>,
    /// Precision of the flags (`1 - FDR`).
    pub precision: Option<f64>,
    /// False-positive rate: flagged among negatives.
    pub fpr: Option<f64>,
    /// False-negative rate: unflagged among positives.
    pub fnr: Option<f64>,
    /// False-discovery rate: negatives among the flagged.
    pub fdr: Option<f64>,
    /// False-omission rate: positives among the unflagged.
    pub r#for: Option<f64>,
    /// Metric -> ratio to the reference group (`None` when undefined).
    pub ratios: BTreeMap<String, Option<f64>>,
    /// Metrics whose ratio is outside the 0.8-1.25 band.
    pub outside_band: Vec<String>,
    /// Fewer positives than `min_positives`: error-rate ratios are not judged.
    pub too_small: bool,
}

impl GroupAudit {
    /// The group's flag rate as a ratio to the reference group's.
    pub fn flag_rate_ratio(&self) -> Option<f64> {
        self.ratios.get("flag_rate").copied().flatten()
    }
}

/// The audit of one grouping (e.g. race/ethnicity) at one cut-off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessTable {
    /// What the groups are (a column name).
    pub grouping: String,
    /// The reference group.
    pub reference: String,
    /// Minimum positives to judge a group.
    pub min_positives: usize,
    /// One row per group, largest first.
    pub groups: Vec<GroupAudit>,
}

impl FairnessTable {
    /// Every (group, metric) whose ratio is outside the band, for warnings.
    pub fn disparities(&self) -> Vec<(String, String, f64)> {
        self.groups
            .iter()
            .flat_map(|g| {
                g.outside_band.iter().filter_map(|m| {
                    g.ratios
                        .get(m)
                        .copied()
                        .flatten()
                        .map(|r| (g.group.clone(), m.clone(), r))
                })
            })
            .collect()
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => Some(a / b),
        _ => None,
    }
}

fn div(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Audits `flagged` by `groups`; with `labels`, error rates too.
pub fn audit(
    grouping: &str,
    groups: &[Option<String>],
    flagged: &[bool],
    labels: Option<&[bool]>,
    options: &FairnessOptions,
) -> FairnessTable {
    assert_eq!(groups.len(), flagged.len());
    // group -> (n, flagged, tp, fp, fn, tn)
    let mut counts: BTreeMap<&str, [usize; 6]> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        let c = counts
            .entry(g.as_deref().unwrap_or(MISSING_GROUP))
            .or_default();
        c[0] += 1;
        let f = flagged[i];
        c[1] += usize::from(f);
        if let Some(y) = labels {
            let slot = match (f, y[i]) {
                (true, true) => 2,
                (true, false) => 3,
                (false, true) => 4,
                (false, false) => 5,
            };
            c[slot] += 1;
        }
    }
    finish(grouping, &counts, labels.is_some(), options)
}

/// Audits flag rates from counts already taken: group -> (children, flagged).
/// For a queue over millions of rows, counting is best done by the caller's
/// engine (a group-by) than by materialising every row's group name.
pub fn audit_flag_rates(
    grouping: &str,
    counts: &BTreeMap<String, (usize, usize)>,
    options: &FairnessOptions,
) -> FairnessTable {
    let counts: BTreeMap<&str, [usize; 6]> = counts
        .iter()
        .map(|(g, &(n, f))| (g.as_str(), [n, f, 0, 0, 0, 0]))
        .collect();
    finish(grouping, &counts, false, options)
}

/// Per-group metrics and ratios from counts `[n, flagged, tp, fp, fn, tn]`.
fn finish(
    grouping: &str,
    counts: &BTreeMap<&str, [usize; 6]>,
    with_labels: bool,
    options: &FairnessOptions,
) -> FairnessTable {
    let mut rows: Vec<GroupAudit> = counts
        .iter()
        .map(|(g, c)| {
            let [n, flagged, tp, fp, fneg, tn] = *c;
            let with = with_labels;
            let positives = tp + fneg;
            GroupAudit {
                group: (*g).to_string(),
                n,
                flagged,
                flag_rate: flagged as f64 / n as f64,
                positives: with.then_some(positives),
                prevalence: with.then(|| positives as f64 / n as f64),
                precision: if with { div(tp, tp + fp) } else { None },
                fpr: if with { div(fp, fp + tn) } else { None },
                fnr: if with { div(fneg, positives) } else { None },
                fdr: if with { div(fp, tp + fp) } else { None },
                r#for: if with { div(fneg, fneg + tn) } else { None },
                ratios: BTreeMap::new(),
                outside_band: Vec::new(),
                too_small: with && positives < options.min_positives,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.n.cmp(&a.n).then(a.group.cmp(&b.group)));

    let reference = options
        .reference
        .clone()
        .filter(|r| rows.iter().any(|g| &g.group == r))
        .or_else(|| rows.first().map(|g| g.group.clone()))
        .unwrap_or_default();
    if let Some(r) = rows.iter().find(|g| g.group == reference).cloned() {
        for g in &mut rows {
            let mut metrics = vec![("flag_rate", Some(g.flag_rate), Some(r.flag_rate))];
            if with_labels && !g.too_small && !r.too_small {
                metrics.extend([
                    ("precision", g.precision, r.precision),
                    ("fpr", g.fpr, r.fpr),
                    ("fnr", g.fnr, r.fnr),
                    ("fdr", g.fdr, r.fdr),
                    ("for", g.r#for, r.r#for),
                ]);
            }
            for (name, a, b) in metrics {
                let v = ratio(a, b);
                if let Some(v) = v
                    && !(RATIO_BAND.0..=RATIO_BAND.1).contains(&v)
                {
                    g.outside_band.push(name.to_string());
                }
                g.ratios.insert(name.to_string(), v);
            }
        }
    }
    FairnessTable {
        grouping: grouping.to_string(),
        reference,
        min_positives: options.min_positives,
        groups: rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    /// Group A: 10 rows, 4 positives; flags: 3 true positives, 1 false positive.
    /// Group B: 5 rows, 2 positives; flags: 1 true positive, 2 false positives.
    /// Plus one row with no group, unflagged negative.
    fn example() -> (Vec<Option<String>>, Vec<bool>, Vec<bool>) {
        let mut groups = Vec::new();
        let mut flags = Vec::new();
        let mut labels = Vec::new();
        let mut push = |grp: Option<String>, f: bool, y: bool| {
            groups.push(grp);
            flags.push(f);
            labels.push(y);
        };
        for (f, y) in [
            (true, true),
            (true, true),
            (true, true),
            (false, true),
            (true, false),
        ] {
            push(g("A"), f, y);
        }
        for _ in 0..5 {
            push(g("A"), false, false);
        }
        for (f, y) in [
            (true, true),
            (false, true),
            (true, false),
            (true, false),
            (false, false),
        ] {
            push(g("B"), f, y);
        }
        push(None, false, false);
        (groups, flags, labels)
    }

    #[test]
    fn constructed_example_by_hand() {
        let (groups, flags, labels) = example();
        let t = audit(
            "race",
            &groups,
            &flags,
            Some(&labels),
            &FairnessOptions {
                reference: None,
                min_positives: 1,
            },
        );
        assert_eq!(t.reference, "A");
        let a = &t.groups[0];
        assert_eq!(
            (a.group.as_str(), a.n, a.flagged, a.positives),
            ("A", 10, 4, Some(4))
        );
        assert_eq!(a.precision, Some(0.75));
        assert_eq!(a.fpr, Some(1.0 / 6.0));
        assert_eq!(a.fnr, Some(0.25));
        assert_eq!(a.fdr, Some(0.25));
        assert_eq!(a.r#for, Some(1.0 / 6.0));
        let b = &t.groups[1];
        assert_eq!(b.group, "B");
        assert_eq!(b.flag_rate, 0.6);
        assert_eq!(b.precision, Some(1.0 / 3.0));
        assert_eq!(b.fpr, Some(2.0 / 3.0));
        assert_eq!(b.fnr, Some(0.5));
        // Ratios against A: flag rate 0.6 / 0.4 = 1.5, FPR (2/3)/(1/6) = 4, FNR 0.5/0.25 = 2.
        assert!((b.ratios["flag_rate"].unwrap() - 1.5).abs() < 1e-12);
        assert!((b.ratios["fpr"].unwrap() - 4.0).abs() < 1e-12);
        assert!((b.ratios["fnr"].unwrap() - 2.0).abs() < 1e-12);
        assert!(b.outside_band.contains(&"fnr".to_string()));
        assert!(a.outside_band.is_empty(), "the reference is 1.0 everywhere");
        // The missing group has no positives: FNR undefined, not a division by zero.
        let m = &t.groups[2];
        assert_eq!(m.group, MISSING_GROUP);
        assert_eq!(m.fnr, None);
    }

    #[test]
    fn small_groups_are_marked_not_judged() {
        let (groups, flags, labels) = example();
        let t = audit(
            "race",
            &groups,
            &flags,
            Some(&labels),
            &FairnessOptions {
                reference: Some("B".into()),
                min_positives: 3,
            },
        );
        assert_eq!(t.reference, "B");
        let b = t.groups.iter().find(|g| g.group == "B").unwrap();
        assert!(b.too_small);
        let a = t.groups.iter().find(|g| g.group == "A").unwrap();
        assert!(!a.too_small);
        // Against a too-small reference only the flag rate is compared.
        assert_eq!(a.ratios.keys().collect::<Vec<_>>(), vec!["flag_rate"]);
    }

    #[test]
    fn without_outcomes_only_flag_rates() {
        let (groups, flags, _) = example();
        let t = audit("race", &groups, &flags, None, &FairnessOptions::default());
        assert!(t.groups.iter().all(|g| g.fnr.is_none() && !g.too_small));
        let d = t.disparities();
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].0.as_str(), d[0].1.as_str()), ("B", "flag_rate"));
        assert!((d[0].2 - 1.5).abs() < 1e-12);
        assert_eq!((d[1].0.as_str(), d[1].2), ("(missing)", 0.0));
    }
}
