//! The fairness audit: flag and error rates by group at the queue's cut-off,
//! and calibration within each group.
//!
//! Follows the aequitas convention: each group's metric is divided by the
//! reference group's. Every ratio carries a 95% interval (Katz's, on the log
//! scale), and a ratio is marked only when its whole interval lies outside
//! the 0.8-1.25 band: a group too small to tell is not marked. When base
//! rates differ between groups, equal flag rates, equal error rates and
//! calibration cannot all hold at once, so a perfect model still shows
//! unequal flag and error rates; what this audit *warns* on is the one a
//! biased score breaks and a difference in risk does not: calibration within
//! the group (observed over expected outcomes, with its interval). See
//! docs/fairness.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The grouping of children by age band (`age_bands` of the features).
pub const AGE_BAND: &str = "age_band";

/// The label of rows whose group is missing.
pub const MISSING_GROUP: &str = "(missing)";
/// Ratios whose interval lies wholly outside `[LOW, HIGH]` are marked.
pub const RATIO_BAND: (f64, f64) = (0.8, 1.25);
/// The z of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;
/// Calibration within a group is judged only when its model expected at
/// least this many outcomes: fewer cannot tell a bias from chance.
pub const MIN_EXPECTED: f64 = 10.0;

/// A ratio with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioCi {
    /// The ratio.
    pub ratio: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl RatioCi {
    /// Whether the whole interval lies outside `band`.
    pub fn clearly_outside(&self, band: (f64, f64)) -> bool {
        self.high < band.0 || self.low > band.1
    }
}

/// The ratio of two proportions `a/n_a` over `b/n_b`, with Katz's log
/// interval; `None` when either has no events or no rows.
pub fn ratio_of_rates(a: usize, n_a: usize, b: usize, n_b: usize) -> Option<RatioCi> {
    if a == 0 || b == 0 || n_a == 0 || n_b == 0 {
        return None;
    }
    let (pa, pb) = (a as f64 / n_a as f64, b as f64 / n_b as f64);
    let ratio = pa / pb;
    let se = ((1.0 - pa) / a as f64 + (1.0 - pb) / b as f64).sqrt();
    Some(RatioCi {
        ratio,
        low: ratio * (-Z95 * se).exp(),
        high: ratio * (Z95 * se).exp(),
    })
}

/// Observed over expected events, where the expected count is a sum of
/// probabilities and `variance` the sum of `p (1 - p)`: the interval is
/// `(O ± 1.96 sd) / E`, the same as the look back's; `None` when nothing was
/// expected.
pub fn observed_over_expected(observed: f64, expected: f64, variance: f64) -> Option<RatioCi> {
    (expected > 0.0).then(|| {
        let half = Z95 * variance.sqrt();
        RatioCi {
            ratio: observed / expected,
            low: ((observed - half) / expected).max(0.0),
            high: (observed + half) / expected,
        }
    })
}

/// Audit options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessOptions {
    /// The reference group; `None` means the largest group with a flag.
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
    /// True-positive rate (aequitas' TPR): flagged among positives, `1 - FNR`.
    #[serde(default)]
    pub tpr: Option<f64>,
    /// The group's share of all flags (aequitas' predicted-positive share).
    #[serde(default)]
    pub predicted_positive_share: f64,
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
    /// Metric -> ratio to the reference group with its 95% interval.
    #[serde(default)]
    pub intervals: BTreeMap<String, RatioCi>,
    /// The model's mean probability in the group.
    #[serde(default)]
    pub mean_predicted: Option<f64>,
    /// Outcomes observed over the outcomes the model expected (the sum of
    /// its probabilities), with its interval: 1 is calibrated.
    #[serde(default)]
    pub calibration: Option<RatioCi>,
    /// The calibration interval lies wholly outside the band, with at least
    /// [`MIN_EXPECTED`] outcomes expected: the audit's warning.
    #[serde(default)]
    pub miscalibrated: bool,
    /// The nightly queue's check: children flagged over the children a queue
    /// by score alone would flag (as many cases, those with the highest
    /// child probability, no office capacity, suppression or re-review),
    /// with a Poisson interval. Near 1, the group's flag rate is what its
    /// scores imply; far from 1, the queue's rules set the group apart.
    #[serde(default)]
    pub flagged_vs_scores: Option<RatioCi>,
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
    /// The groups whose calibration is clearly off: the audit's warnings.
    pub fn miscalibrated(&self) -> Vec<&GroupAudit> {
        self.groups.iter().filter(|g| g.miscalibrated).collect()
    }

    /// Every (group, metric) whose ratio is clearly outside the band.
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

/// One group's counts.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    n: usize,
    flagged: usize,
    tp: usize,
    fp: usize,
    fneg: usize,
    tn: usize,
    /// Sum of the probabilities, and of `p (1 - p)`.
    expected: f64,
    variance: f64,
}

/// Audits `flagged` by `groups`; with `labels`, error rates too; with
/// `probabilities` as well, calibration within each group.
pub fn audit(
    grouping: &str,
    groups: &[Option<String>],
    flagged: &[bool],
    labels: Option<&[bool]>,
    probabilities: Option<&[f64]>,
    options: &FairnessOptions,
) -> FairnessTable {
    assert_eq!(groups.len(), flagged.len());
    let mut counts: BTreeMap<&str, Counts> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        let c = counts
            .entry(g.as_deref().unwrap_or(MISSING_GROUP))
            .or_default();
        c.n += 1;
        let f = flagged[i];
        c.flagged += usize::from(f);
        if let Some(y) = labels {
            match (f, y[i]) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fneg += 1,
                (false, false) => c.tn += 1,
            }
        }
        if let Some(p) = probabilities {
            c.expected += p[i];
            c.variance += p[i] * (1.0 - p[i]);
        }
    }
    finish(
        grouping,
        &counts,
        labels.is_some(),
        probabilities.is_some(),
        options,
    )
}

/// A group's counts in tonight's queue, taken by the caller's engine.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueCounts {
    /// Children.
    pub n: usize,
    /// Children whose case is queued.
    pub flagged: usize,
    /// The sum of their probabilities.
    pub risk: f64,
    /// Children a queue by score alone would flag.
    pub by_score: usize,
}

impl QueueCounts {
    /// Adds another block's counts.
    pub fn add(&mut self, o: &QueueCounts) {
        self.n += o.n;
        self.flagged += o.flagged;
        self.risk += o.risk;
        self.by_score += o.by_score;
    }
}

/// Audits tonight's queue from counts already taken (for millions of rows,
/// counting is best done in blocks by the caller than by materialising every
/// row's group name): flag rates against the reference, the mean risk, and
/// the flags against a queue by score alone.
pub fn audit_queue(
    grouping: &str,
    counts: &BTreeMap<String, QueueCounts>,
    options: &FairnessOptions,
) -> FairnessTable {
    let as_counts: BTreeMap<&str, Counts> = counts
        .iter()
        .map(|(g, q)| {
            (
                g.as_str(),
                Counts {
                    n: q.n,
                    flagged: q.flagged,
                    expected: q.risk,
                    ..Counts::default()
                },
            )
        })
        .collect();
    let mut t = finish(grouping, &as_counts, false, true, options);
    for g in &mut t.groups {
        if let Some(q) = counts.get(&g.group) {
            let e = q.by_score as f64;
            g.flagged_vs_scores = observed_over_expected(q.flagged as f64, e, e);
        }
    }
    t
}

/// A metric by name, as (events, rows) of a group's counts.
type Rule = (&'static str, fn(&Counts) -> (usize, usize));

/// The error-rate metrics compared between groups when outcomes are known.
const ERROR_RATES: [Rule; 6] = [
    ("precision", |c| (c.tp, c.tp + c.fp)),
    ("fpr", |c| (c.fp, c.fp + c.tn)),
    ("fnr", |c| (c.fneg, c.tp + c.fneg)),
    ("tpr", |c| (c.tp, c.tp + c.fneg)),
    ("fdr", |c| (c.fp, c.tp + c.fp)),
    ("for", |c| (c.fneg, c.fneg + c.tn)),
];

fn finish(
    grouping: &str,
    counts: &BTreeMap<&str, Counts>,
    with_labels: bool,
    with_probabilities: bool,
    options: &FairnessOptions,
) -> FairnessTable {
    let all_flagged: usize = counts.values().map(|c| c.flagged).sum();
    let mut rows: Vec<(GroupAudit, Counts)> = counts
        .iter()
        .map(|(g, c)| {
            let with = with_labels;
            let positives = c.tp + c.fneg;
            let calibration = (with && with_probabilities)
                .then(|| observed_over_expected(positives as f64, c.expected, c.variance))
                .flatten();
            let audit = GroupAudit {
                group: (*g).to_string(),
                n: c.n,
                flagged: c.flagged,
                flag_rate: c.flagged as f64 / c.n as f64,
                positives: with.then_some(positives),
                prevalence: with.then(|| positives as f64 / c.n as f64),
                precision: if with { div(c.tp, c.tp + c.fp) } else { None },
                fpr: if with { div(c.fp, c.fp + c.tn) } else { None },
                fnr: if with { div(c.fneg, positives) } else { None },
                tpr: if with { div(c.tp, positives) } else { None },
                predicted_positive_share: c.flagged as f64 / all_flagged.max(1) as f64,
                fdr: if with { div(c.fp, c.tp + c.fp) } else { None },
                r#for: if with {
                    div(c.fneg, c.fneg + c.tn)
                } else {
                    None
                },
                ratios: BTreeMap::new(),
                outside_band: Vec::new(),
                too_small: with && positives < options.min_positives,
                intervals: BTreeMap::new(),
                mean_predicted: with_probabilities.then(|| c.expected / c.n as f64),
                miscalibrated: calibration
                    .is_some_and(|r| c.expected >= MIN_EXPECTED && r.clearly_outside(RATIO_BAND)),
                calibration,
                flagged_vs_scores: None,
            };
            (audit, *c)
        })
        .collect();
    rows.sort_by(|a, b| b.0.n.cmp(&a.0.n).then(a.0.group.cmp(&b.0.group)));

    // The reference: the one asked for, else the largest group with a flag
    // (a reference never flagged makes every ratio undefined).
    let reference = options
        .reference
        .clone()
        .filter(|r| rows.iter().any(|g| &g.0.group == r))
        .or_else(|| {
            rows.iter()
                .find(|g| g.0.flagged > 0)
                .or(rows.first())
                .map(|g| g.0.group.clone())
        })
        .unwrap_or_default();
    if let Some((r, rc)) = rows.iter().find(|g| g.0.group == reference).cloned() {
        for (g, c) in &mut rows {
            let mut metrics: Vec<Rule> = vec![("flag_rate", |c| (c.flagged, c.n))];
            if with_labels && !g.too_small && !r.too_small {
                metrics.extend(ERROR_RATES);
            }
            for (name, events) in metrics {
                let ((x, n), (y, m)) = (events(c), events(&rc));
                g.ratios
                    .insert(name.to_string(), ratio(div(x, n), div(y, m)));
                if g.group == reference {
                    continue;
                }
                if let Some(ci) = ratio_of_rates(x, n, y, m) {
                    if ci.clearly_outside(RATIO_BAND) {
                        g.outside_band.push(name.to_string());
                    }
                    g.intervals.insert(name.to_string(), ci);
                }
            }
        }
    }
    FairnessTable {
        grouping: grouping.to_string(),
        reference,
        min_positives: options.min_positives,
        groups: rows.into_iter().map(|(g, _)| g).collect(),
    }
}

/// Two groupings crossed: `Black / under 6 months` (a missing side is
/// [`MISSING_GROUP`]).
pub fn intersect(a: &[Option<String>], b: &[Option<String>]) -> Vec<Option<String>> {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            Some(format!(
                "{} / {}",
                x.as_deref().unwrap_or(MISSING_GROUP),
                y.as_deref().unwrap_or(MISSING_GROUP)
            ))
        })
        .collect()
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
            None,
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
        assert_eq!(a.tpr, Some(0.75));
        // A holds 4 of the 7 flags.
        assert!((a.predicted_positive_share - 4.0 / 7.0).abs() < 1e-12);
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
        // FNR is twice the reference's, but on 2 and 4 positives its
        // interval spans the band: too few to tell, so not marked.
        let fnr = b.intervals["fnr"];
        assert!(fnr.low < 0.8 && fnr.high > 1.25, "{fnr:?}");
        assert!(b.outside_band.is_empty(), "{:?}", b.outside_band);
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
            None,
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
        let t = audit(
            "race",
            &groups,
            &flags,
            None,
            None,
            &FairnessOptions::default(),
        );
        assert!(t.groups.iter().all(|g| g.fnr.is_none() && !g.too_small));
        // B is flagged 1.5 times as often as A, but on 5 and 10 children
        // that is too few to tell: nothing is marked.
        let b = t.groups.iter().find(|g| g.group == "B").unwrap();
        assert!((b.flag_rate_ratio().unwrap() - 1.5).abs() < 1e-12);
        assert!(t.disparities().is_empty());
        // The same rates on a hundred times the children are clear.
        let many = |v: &[Option<String>]| -> Vec<Option<String>> {
            v.iter().cycle().take(v.len() * 100).cloned().collect()
        };
        let flags_many: Vec<bool> = flags
            .iter()
            .cycle()
            .take(flags.len() * 100)
            .copied()
            .collect();
        let t = audit(
            "race",
            &many(&groups),
            &flags_many,
            None,
            None,
            &FairnessOptions::default(),
        );
        let d = t.disparities();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].0.as_str(), d[0].1.as_str()), ("B", "flag_rate"));
        assert!((d[0].2 - 1.5).abs() < 1e-12);
    }

    /// The intervals and the calibration within groups against values
    /// worked out by hand.
    #[test]
    fn intervals_and_calibration_by_hand() {
        // Flag-rate ratio of 30/100 over 10/100: 3, se = sqrt(0.7/30 + 0.9/10).
        let ci = ratio_of_rates(30, 100, 10, 100).unwrap();
        assert!((ci.ratio - 3.0).abs() < 1e-12);
        let se = (0.7_f64 / 30.0 + 0.9 / 10.0).sqrt();
        assert!((ci.low - 3.0 * (-1.959_963_984_540_054 * se).exp()).abs() < 1e-12);
        assert!((ci.high - 3.0 * (1.959_963_984_540_054 * se).exp()).abs() < 1e-12);
        assert!(
            (ci.low - 1.5508).abs() < 1e-4 && (ci.high - 5.8033).abs() < 1e-4,
            "{ci:?}"
        );
        assert!(ci.clearly_outside(RATIO_BAND));
        assert_eq!(ratio_of_rates(0, 100, 10, 100), None);
        // 30 observed where 20 were expected with variance 16: 1.5, (30 ± 1.96 * 4) / 20.
        let oe = observed_over_expected(30.0, 20.0, 16.0).unwrap();
        assert!((oe.ratio - 1.5).abs() < 1e-12);
        assert!((oe.low - (30.0 - 1.959_963_984_540_054 * 4.0) / 20.0).abs() < 1e-12);
        assert!((oe.high - (30.0 + 1.959_963_984_540_054 * 4.0) / 20.0).abs() < 1e-12);

        // Two groups of 400: A with every probability 0.05 and 20 outcomes
        // (calibrated), B with every probability 0.10 and 20 outcomes
        // (the model expected 40: O/E 0.5).
        let mut groups = Vec::new();
        let (mut flags, mut labels, mut probs) = (Vec::new(), Vec::new(), Vec::new());
        for (name, p, k) in [("A", 0.05, 20), ("B", 0.10, 20)] {
            for i in 0..400 {
                groups.push(g(name));
                flags.push(i < 40);
                labels.push(i % 20 == 0 && i / 20 < k);
                probs.push(p);
            }
        }
        let t = audit(
            "g",
            &groups,
            &flags,
            Some(&labels),
            Some(&probs),
            &FairnessOptions {
                reference: Some("A".into()),
                min_positives: 5,
            },
        );
        let a = t.groups.iter().find(|x| x.group == "A").unwrap();
        let b = t.groups.iter().find(|x| x.group == "B").unwrap();
        assert!((a.mean_predicted.unwrap() - 0.05).abs() < 1e-12);
        let (ca, cb) = (a.calibration.unwrap(), b.calibration.unwrap());
        assert!((ca.ratio - 1.0).abs() < 1e-9, "{ca:?}");
        assert!((cb.ratio - 0.5).abs() < 1e-9, "{cb:?}");
        // B: variance 400 * 0.1 * 0.9 = 36, so (20 ± 1.96 * 6) / 40.
        assert!((cb.high - (20.0 + 1.959_963_984_540_054 * 6.0) / 40.0).abs() < 1e-9);
        assert!(!a.miscalibrated);
        assert!(b.miscalibrated, "{cb:?}");
        assert_eq!(t.miscalibrated().len(), 1);
        // Same flag rates: a ratio of 1, its interval inside the band's reach.
        assert!((b.ratios["flag_rate"].unwrap() - 1.0).abs() < 1e-12);
        assert!(!b.outside_band.contains(&"flag_rate".to_string()));
    }

    #[test]
    fn intersections_name_both_sides() {
        let a = vec![g("Black"), None];
        let b = vec![g("under 6 months"), g("3+ years")];
        assert_eq!(
            intersect(&a, &b),
            vec![g("Black / under 6 months"), g("(missing) / 3+ years")]
        );
    }
}
