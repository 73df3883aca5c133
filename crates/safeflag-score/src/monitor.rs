//! Watching every run: is tonight's queue fair across groups of children, and
//! does tonight's data still look like the data the model learned from?
//!
//! Both checks run on every scoring run and land in the run manifest, so a
//! drifting extract or a skewed queue is seen the night it happens, not at the
//! next model review. Warnings are advisory: they never stop a run.

use std::collections::BTreeMap;

use polars::prelude::*;
use rayon::prelude::*;
use safeflag_core::FeatureMatrix;
use safeflag_model::ModelArtifact;
use safeflag_model::distribution::{FeatureDistribution, psi};
use safeflag_model::fairness::{
    FairnessOptions, FairnessTable, MIN_EXPECTED, MISSING_GROUP, QueueCounts, audit_queue,
};
use serde::{Deserialize, Serialize};

use crate::Result;

/// Thresholds of the run-time checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct MonitorOptions {
    /// Warn when a feature's population stability index exceeds this.
    pub psi_warning: f64,
    /// Warn when a column's missing-value rate moves by more than this (absolute share).
    pub missing_warning: f64,
    /// Warn when a group's flag-rate ratio to the reference leaves `[low, high]`.
    pub fairness_band: (f64, f64),
    /// The race/ethnicity reference group (default: the largest group).
    pub reference_group: Option<String>,
    /// Groups with fewer children than this are reported but never warned about.
    pub min_group_size: usize,
    /// The groupings whose disparities raise warnings. Age bands are audited
    /// and reported too, but not warned about by default: the model is meant
    /// to rank infants higher, so their flag rate is expected to be higher.
    pub fairness_warn: Vec<String>,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions {
            psi_warning: 0.2,
            missing_warning: 0.05,
            fairness_band: safeflag_model::fairness::RATIO_BAND,
            reference_group: None,
            min_group_size: 100,
            fairness_warn: vec![safeflag_core::contract::RACE_ETHNICITY.to_string()],
        }
    }
}

/// The groupings the fairness check knows.
pub const GROUPINGS: [&str; 2] = [
    safeflag_core::contract::RACE_ETHNICITY,
    safeflag_model::fairness::AGE_BAND,
];

impl MonitorOptions {
    /// Checks the thresholds, the same way whether they came from flags or
    /// from the config file.
    pub fn check(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::Error::Monitor(m));
        if !(self.psi_warning.is_finite() && self.psi_warning > 0.0) {
            return bad(format!(
                "`psi-warning` = {} must be above 0",
                self.psi_warning
            ));
        }
        if !(self.missing_warning > 0.0 && self.missing_warning <= 1.0) {
            return bad(format!(
                "`missing-warning` = {} is not above 0 and at most 1",
                self.missing_warning
            ));
        }
        let (lo, hi) = self.fairness_band;
        if !(lo > 0.0 && lo <= 1.0 && hi >= 1.0 && hi.is_finite()) {
            return bad(format!(
                "`fairness-band` = [{lo}, {hi}] must hold 1 (0 < low <= 1 <= high)"
            ));
        }
        if let Some(g) = self
            .fairness_warn
            .iter()
            .find(|g| !GROUPINGS.contains(&g.as_str()))
        {
            return bad(format!(
                "`fairness-warn` names `{g}`, which is not a grouping (known: {})",
                GROUPINGS.join(", ")
            ));
        }
        Ok(())
    }
}

/// One feature's drift against its training distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// Feature name.
    pub feature: String,
    /// What the feature means, in plain words (empty in manifests written
    /// before labels were recorded).
    #[serde(default)]
    pub label: String,
    /// Population stability index.
    pub psi: f64,
    /// Training mean and tonight's mean.
    pub mean_training: f64,
    /// Tonight's mean.
    pub mean_tonight: f64,
    /// Above the warning threshold.
    pub warn: bool,
}

/// One column's missing-value rate, in training and tonight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingDrift {
    /// Contract column.
    pub column: String,
    /// Share missing among training rows.
    pub training: f64,
    /// Share missing tonight (among valid rows).
    pub tonight: f64,
    /// The change exceeds the warning threshold.
    pub warn: bool,
}

/// A warning raised by a check, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// `drift`, `missing` or `fairness`.
    pub kind: String,
    /// The feature, column or group concerned.
    pub subject: String,
    /// What was seen.
    pub message: String,
}

/// The results of the run-time checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Monitoring {
    /// The thresholds used.
    pub options: MonitorOptions,
    /// Flag rate (children whose case is queued) by race/ethnicity and by age band.
    pub fairness: Vec<FairnessTable>,
    /// Per feature, in the model's feature order.
    pub drift: Vec<FeatureDrift>,
    /// Per optional contract column the model recorded.
    pub missing: Vec<MissingDrift>,
    /// Every warning, drift first, then missing rates, then fairness.
    pub warnings: Vec<Warning>,
}

/// Tonight's feature values counted into the training distributions' bins,
/// batch by batch, so drift needs no copy of the whole feature matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureBins {
    names: Vec<String>,
    edges: Vec<Vec<f64>>,
    /// Rows counted.
    pub rows: usize,
    /// Per training distribution, rows per bin.
    pub counts: Vec<Vec<u64>>,
    /// Per training distribution, the sum of the values (for the mean).
    pub sums: Vec<f64>,
}

impl FeatureBins {
    /// Empty counts for these distributions.
    pub fn new(distributions: &[FeatureDistribution]) -> FeatureBins {
        FeatureBins {
            names: distributions.iter().map(|d| d.name.clone()).collect(),
            edges: distributions.iter().map(|d| d.edges.clone()).collect(),
            rows: 0,
            counts: distributions
                .iter()
                .map(|d| vec![0; d.edges.len() + 1])
                .collect(),
            sums: vec![0.0; distributions.len()],
        }
    }

    /// Counts one batch of features (features the model no longer has are skipped).
    pub fn add(&mut self, x: &FeatureMatrix) {
        let columns: Vec<Option<usize>> = self
            .names
            .iter()
            .map(|n| x.names().iter().position(|m| m == n))
            .collect();
        let edges = &self.edges;
        let rows = x.rows();
        let data = x.column_major();
        self.counts
            .par_iter_mut()
            .zip(self.sums.par_iter_mut())
            .enumerate()
            .for_each(|(k, (counts, sum))| {
                let Some(j) = columns[k] else { return };
                let e = &edges[k];
                let values = &data[j * rows..(j + 1) * rows];
                if let [edge] = e.as_slice() {
                    // Indicators (most features): one comparison, no search.
                    let above = values.iter().filter(|&&v| v > *edge).count() as u64;
                    counts[1] += above;
                    counts[0] += rows as u64 - above;
                    *sum += values.iter().sum::<f64>();
                } else {
                    for &v in values {
                        counts[e.partition_point(|&edge| edge < v)] += 1;
                        *sum += v;
                    }
                }
            });
        self.rows += rows;
    }
}

/// A grouping's name in words: `race/ethnicity` for `child_race_ethnicity`.
pub fn grouping_words(grouping: &str) -> &str {
    match grouping {
        safeflag_core::contract::RACE_ETHNICITY => "race/ethnicity",
        "age_band" => "age band",
        other => other,
    }
}

/// Runs the checks on tonight's validated `cases`, their scores (with the
/// binned features, and each row's age band as the score files carry it)
/// and the rows of the queued cases ([`crate::Queue::case_rows`]).
pub fn monitor(
    model: &ModelArtifact,
    cases: &DataFrame,
    scored: &crate::RowScores,
    queued_rows: &[usize],
    options: &MonitorOptions,
) -> Result<Monitoring> {
    let c = &model.content;
    let (bins, probabilities) = (&scored.bins, scored.probabilities.as_slice());
    let mut warnings = Vec::new();

    let drift: Vec<FeatureDrift> = c
        .distributions
        .iter()
        .zip(&bins.counts)
        .zip(&bins.sums)
        .filter(|_| bins.rows > 0)
        .map(|((d, counts), sum)| {
            let n = bins.rows as f64;
            let shares: Vec<f64> = counts.iter().map(|&k| k as f64 / n).collect();
            let psi = psi(&d.shares, &shares);
            FeatureDrift {
                feature: d.name.clone(),
                label: c
                    .feature_spec
                    .features
                    .iter()
                    .find(|f| f.name == d.name)
                    .map_or_else(|| d.name.clone(), |f| f.label.clone()),
                psi,
                mean_training: d.mean,
                mean_tonight: sum / n,
                warn: psi > options.psi_warning,
            }
        })
        .collect();
    for d in drift.iter().filter(|d| d.warn) {
        warnings.push(Warning {
            kind: "drift".into(),
            subject: d.feature.clone(),
            message: format!(
                "\"{}\" ({}) has drifted: PSI {:.3} > {} (mean {:.3} in training, {:.3} tonight)",
                d.label, d.feature, d.psi, options.psi_warning, d.mean_training, d.mean_tonight
            ),
        });
    }

    let n = cases.height().max(1) as f64;
    let missing: Vec<MissingDrift> = c
        .missing_rates
        .iter()
        .filter_map(|(column, training)| {
            let col = cases.column(column).ok()?;
            let tonight = col.null_count() as f64 / n;
            Some(MissingDrift {
                column: column.clone(),
                training: *training,
                tonight,
                warn: (tonight - training).abs() > options.missing_warning,
            })
        })
        .collect();
    for m in missing.iter().filter(|m| m.warn) {
        warnings.push(Warning {
            kind: "missing".into(),
            subject: m.column.clone(),
            message: format!(
                "column {} is missing in {:.1}% of rows tonight against {:.1}% in training",
                m.column,
                m.tonight * 100.0,
                m.training * 100.0
            ),
        });
    }

    // Children and flagged children (those whose case is queued) per group,
    // with their risk and the flags their risk implies, in parallel over
    // blocks of rows.
    let mut flagged = vec![false; cases.height()];
    for &i in queued_rows {
        flagged[i] = true;
    }
    let by_score = score_only_flags(&text_values(cases, "case_id")?, probabilities, &flagged);
    let race_options = FairnessOptions {
        reference: options.reference_group.clone(),
        ..FairnessOptions::default()
    };
    let race = safeflag_core::contract::RACE_ETHNICITY;
    let races = Groups::of(cases, race)?;
    let ages = Groups::of(&scored.scores, "age_band")?;
    let rows = Rows {
        flagged: &flagged,
        probabilities,
        by_score: &by_score,
    };
    let fairness = vec![
        audit_queue(race, &rows.counts(&races), &race_options),
        audit_queue(
            safeflag_model::fairness::AGE_BAND,
            &rows.counts(&ages),
            &FairnessOptions::default(),
        ),
        audit_queue(
            RACE_BY_AGE,
            &rows.crossed(&races, &ages),
            &FairnessOptions::default(),
        ),
    ];
    // A reference group that is not a group tonight would silently fall back
    // to the largest: a typo must not change what every ratio means.
    if let Some(r) = &options.reference_group
        && fairness[0].reference != *r
    {
        let groups: Vec<&str> = fairness[0]
            .groups
            .iter()
            .map(|g| g.group.as_str())
            .collect();
        return Err(crate::Error::Monitor(format!(
            "`reference-group` = `{r}` is not a {race} group in tonight's snapshot (groups: {})",
            groups.join(", ")
        )));
    }
    // The warning: a group flagged clearly more or less often than a queue
    // by score alone would flag it. Unequal flag rates that follow the
    // scores are reported (with their intervals), not warned of: with base
    // rates that differ, a calibrated score cannot give equal flag rates,
    // and a warning that fires every night teaches people to ignore it
    // (docs/fairness.md). Whether the scores are right for a group is the
    // calibration within groups, once outcomes are known (train, evaluate,
    // backtest and the look back).
    warnings.extend(queue_warnings(&fairness, options));
    Ok(Monitoring {
        options: options.clone(),
        fairness,
        drift,
        missing,
        warnings,
    })
}

/// A text column's values, borrowed.
fn text_values<'a>(cases: &'a DataFrame, column: &str) -> Result<Vec<Option<&'a str>>> {
    Ok(cases.column(column)?.str()?.iter().collect())
}

/// A group column as one small code per row and the distinct values the
/// codes stand for, in order of first appearance. Rows are counted by code
/// and the groups named once at the end: 4 bytes a row where a borrowed
/// text per row is 16 (160 MB for two columns of a 5M-row night, alive
/// beside the score-file writer at the night's peak), and a number hashed
/// per row, not a text.
struct Groups<'a> {
    codes: Vec<u32>,
    names: Vec<Option<&'a str>>,
}

impl<'a> Groups<'a> {
    fn new(values: impl Iterator<Item = Option<&'a str>>) -> Self {
        let mut names = Vec::new();
        let mut index = PlHashMap::<Option<&str>, u32>::default();
        let codes = values
            .map(|v| {
                *index.entry(v).or_insert_with(|| {
                    names.push(v);
                    (names.len() - 1) as u32
                })
            })
            .collect();
        Groups { codes, names }
    }

    fn of(cases: &'a DataFrame, column: &str) -> Result<Self> {
        Ok(Groups::new(cases.column(column)?.str()?.iter()))
    }

    /// The group a code stands for ([`MISSING_GROUP`] for a missing value).
    fn name(&self, code: u32) -> &'a str {
        self.names[code as usize].unwrap_or(MISSING_GROUP)
    }
}

/// The nightly fairness warnings: a watched group flagged clearly more or
/// less often than a queue by score alone would flag it, with enough
/// children and enough flags by score to tell.
fn queue_warnings(fairness: &[FairnessTable], options: &MonitorOptions) -> Vec<Warning> {
    let race = safeflag_core::contract::RACE_ETHNICITY;
    let mut warnings = Vec::new();
    let (low, high) = options.fairness_band;
    let watched = |grouping: &str| {
        options.fairness_warn.iter().any(|w| w == grouping)
            || (grouping == RACE_BY_AGE && options.fairness_warn.iter().any(|w| w == race))
    };
    for table in fairness.iter().filter(|t| watched(&t.grouping)) {
        let reference = table.groups.iter().find(|g| g.group == table.reference);
        for g in &table.groups {
            let Some(v) = g.flagged_vs_scores else {
                continue;
            };
            let by_score = g.flagged as f64 / v.ratio;
            if g.n < options.min_group_size
                || by_score < MIN_EXPECTED
                || !v.clearly_outside((low, high))
            {
                continue;
            }
            let against = match (reference, g.flag_rate_ratio()) {
                (Some(r), Some(ratio)) if r.group != g.group => format!(
                    "; its flag rate {:.2}% is {ratio:.2}x that of {}, its mean risk {}",
                    g.flag_rate * 100.0,
                    r.group,
                    match (g.mean_predicted, r.mean_predicted) {
                        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
                        _ => "-".into(),
                    }
                ),
                _ => String::new(),
            };
            warnings.push(Warning {
                kind: "fairness".into(),
                subject: format!("{}={}", table.grouping, g.group),
                message: format!(
                    "{} group {}: {:.2}x the children a queue by score alone would flag (95% interval {:.2}-{:.2}, outside {low}-{high}){against}: the queue's rules (office capacity, suppression, re-reviews), not the scores, set it apart",
                    grouping_words(&table.grouping),
                    g.group,
                    v.ratio,
                    v.low,
                    v.high,
                ),
            });
        }
    }
    warnings
}

/// The grouping of children by race/ethnicity crossed with age band.
pub const RACE_BY_AGE: &str = "race/ethnicity x age band";

/// Which children a queue by score alone would flag: the same number of
/// cases as tonight's queue, the cases with the highest child probability,
/// with no office capacity, suppression or re-review. Set beside the real
/// queue, it shows what the queue's rules, not the scores, do to a group.
fn score_only_flags(
    case_ids: &[Option<&str>],
    probabilities: &[f64],
    flagged: &[bool],
) -> Vec<bool> {
    let queued: std::collections::HashSet<Option<&str>> = case_ids
        .iter()
        .zip(flagged)
        .filter(|(_, f)| **f)
        .map(|(c, _)| *c)
        .collect();
    let want = queued.len();
    // A case's place is its highest child's, so walking the rows from the
    // highest probability down, the first `want` distinct cases are the
    // queue by score. Only the top rows are sorted, widening until enough
    // cases are found (a 5M-row night sorts a few thousand rows, not all).
    let n = probabilities.len();
    let mut k = (want * 8).clamp(1, n.max(1));
    let top: std::collections::HashSet<Option<&str>> = loop {
        let mut idx: Vec<usize> = (0..n).collect();
        let order = |a: &usize, b: &usize| {
            probabilities[*b]
                .total_cmp(&probabilities[*a])
                .then_with(|| case_ids[*a].cmp(&case_ids[*b]))
        };
        if k < n {
            idx.select_nth_unstable_by(k - 1, order);
            idx.truncate(k);
        }
        idx.sort_unstable_by(order);
        let mut seen = std::collections::HashSet::new();
        for i in idx {
            if seen.len() == want {
                break;
            }
            seen.insert(case_ids[i]);
        }
        if seen.len() == want || k >= n {
            break seen;
        }
        k = (k * 4).min(n);
    };
    case_ids.par_iter().map(|c| top.contains(c)).collect()
}

/// What each row brings to its group's counts.
struct Rows<'a> {
    flagged: &'a [bool],
    probabilities: &'a [f64],
    by_score: &'a [bool],
}

impl Rows<'_> {
    /// Counts per key, in parallel blocks. Each block is counted on its own
    /// and the blocks are added in row order, so the sums of risk are the
    /// same bits whatever the thread count (a fold over work-stolen ranges
    /// added them in a different order on every run).
    fn tally<K: std::hash::Hash + Eq + Send + Copy>(
        &self,
        key: impl Fn(usize) -> K + Sync,
    ) -> PlHashMap<K, QueueCounts> {
        const BLOCK: usize = 1 << 16;
        let n = self.flagged.len();
        let blocks: Vec<PlHashMap<K, QueueCounts>> = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let mut acc = PlHashMap::<K, QueueCounts>::default();
                for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                    acc.entry(key(i)).or_default().add(&QueueCounts {
                        n: 1,
                        flagged: usize::from(self.flagged[i]),
                        risk: self.probabilities[i],
                        by_score: usize::from(self.by_score[i]),
                    });
                }
                acc
            })
            .collect();
        // Each key's blocks are added in block order (the order of keys
        // within a block does not touch any one key's sum).
        let mut all = PlHashMap::<K, QueueCounts>::default();
        for (k, c) in blocks.into_iter().flatten() {
            all.entry(k).or_default().add(&c);
        }
        all
    }

    /// Counts per group.
    fn counts(&self, groups: &Groups) -> BTreeMap<String, QueueCounts> {
        self.tally(|i| groups.codes[i])
            .into_iter()
            .map(|(g, c)| (groups.name(g).to_string(), c))
            .collect()
    }

    /// Counts per pair of groups, named `A / B`.
    fn crossed(&self, a: &Groups, b: &Groups) -> BTreeMap<String, QueueCounts> {
        self.tally(|i| (a.codes[i], b.codes[i]))
            .into_iter()
            .map(|((x, y), c)| (format!("{} / {}", a.name(x), b.name(y)), c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safeflag_features::age_band_names;

    /// The group counts equal a polars group-by over the expressions the
    /// reports use (`age_band()`, the race column), on the sample snapshot
    /// with every third child flagged.
    #[test]
    fn group_counts_match_a_polars_group_by() {
        let cases = crate::tests::sample_cases();
        let flagged: Vec<bool> = (0..cases.height()).map(|i| i % 3 == 0).collect();
        let p: Vec<f64> = (0..cases.height()).map(|i| (i % 7) as f64 / 10.0).collect();
        let none = vec![false; cases.height()];
        let rows = Rows {
            flagged: &flagged,
            probabilities: &p,
            by_score: &none,
        };
        let race = safeflag_core::contract::RACE_ETHNICITY;
        let by_polars = |group: Expr| -> BTreeMap<String, (usize, usize)> {
            let mut df = cases.clone();
            df.with_column(Column::new("__f".into(), &flagged)).unwrap();
            let c = df
                .lazy()
                .group_by([group.fill_null(lit(MISSING_GROUP)).alias("g")])
                .agg([
                    len().alias("n"),
                    col("__f").cast(DataType::UInt32).sum().alias("f"),
                ])
                .collect()
                .unwrap();
            let (g, n, f) = (
                c.column("g").unwrap().str().unwrap(),
                c.column("n").unwrap().cast(&DataType::UInt64).unwrap(),
                c.column("f").unwrap().cast(&DataType::UInt64).unwrap(),
            );
            (0..c.height())
                .map(|i| {
                    let (n, f) = (n.u64().unwrap().get(i), f.u64().unwrap().get(i));
                    (
                        g.get(i).unwrap().to_string(),
                        (n.unwrap() as usize, f.unwrap() as usize),
                    )
                })
                .collect()
        };
        let plain = |m: BTreeMap<String, QueueCounts>| -> BTreeMap<String, (usize, usize)> {
            m.into_iter().map(|(g, c)| (g, (c.n, c.flagged))).collect()
        };
        let names = age_band_names(&cases).unwrap();
        let ages = plain(rows.counts(&Groups::new(names.iter().copied())));
        assert_eq!(ages, by_polars(safeflag_features::age_band()));
        assert_eq!(ages.len(), safeflag_features::AGE_BANDS.len());
        let values = text_values(&cases, race).unwrap();
        let groups = Groups::of(&cases, race).unwrap();
        let races = plain(rows.counts(&groups));
        assert_eq!(races, by_polars(col(race)));
        assert!(races.contains_key(MISSING_GROUP));
        // The codes the night counts by stand for the same values, nulls too.
        assert_eq!(groups.codes.len(), values.len());
        assert!(
            groups
                .codes
                .iter()
                .zip(&values)
                .all(|(&c, v)| groups.names[c as usize] == *v)
        );
        // The risk is the sum of the group's probabilities.
        let all: f64 = rows.counts(&groups).values().map(|c| c.risk).sum();
        assert!((all - p.iter().sum::<f64>()).abs() < 1e-6);
    }

    /// The sums of risk per group are the same bits on one thread and on
    /// many, run after run: the manifest's fairness tables are part of a
    /// run's output (a fold over work-stolen ranges gave different low bits
    /// on every 5M-row night).
    #[test]
    fn group_sums_do_not_depend_on_the_thread_count() {
        let n = 40 * (1 << 16) + 123;
        let mut state = 11u64;
        let p: Vec<f64> = (0..n)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                (state >> 11) as f64 / (1u64 << 53) as f64 * 0.3
            })
            .collect();
        let flagged: Vec<bool> = (0..n).map(|i| i % 997 == 0).collect();
        let groups = Groups::new((0..n).map(|i| Some(["a", "b", "c"][i % 3])));
        let rows = Rows {
            flagged: &flagged,
            probabilities: &p,
            by_score: &flagged,
        };
        let sums = |threads: usize| -> Vec<(String, u64, usize)> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| rows.counts(&groups))
                .into_iter()
                .map(|(g, c)| (g, c.risk.to_bits(), c.n))
                .collect()
        };
        let one = sums(1);
        assert_eq!(one.len(), 3);
        for threads in [2, 3, 8, 8, 8] {
            assert_eq!(sums(threads), one, "{threads} threads");
        }
    }

    /// A queue by score alone takes the cases with the highest child, as
    /// many as tonight's queue holds, every child of them flagged.
    #[test]
    fn a_queue_by_score_alone_takes_the_highest_cases() {
        let cases = [
            Some("a"),
            Some("a"),
            Some("b"),
            Some("c"),
            Some("c"),
            Some("d"),
        ];
        let p = [0.1, 0.9, 0.5, 0.2, 0.3, 0.6];
        // Tonight's queue: cases a and c (c in place of d, say by capacity).
        let flagged = [true, true, false, true, true, false];
        assert_eq!(
            score_only_flags(&cases, &p, &flagged),
            vec![true, true, false, false, false, true]
        );
    }

    /// The widening walk over the top rows gives what ranking every case
    /// gives, ties included, for queues of every size.
    #[test]
    fn the_queue_by_score_alone_equals_ranking_every_case() {
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let names: Vec<String> = (0..3000).map(|c| format!("C{c}")).collect();
        let n = 10_000;
        let cases: Vec<Option<&str>> = (0..n)
            .map(|_| Some(names[next() % names.len()].as_str()))
            .collect();
        // Rounded to 2 decimals, so many rows and cases tie.
        let p: Vec<f64> = (0..n).map(|_| (next() % 100) as f64 / 100.0).collect();
        for want in [0, 1, 7, 50, 400, 2999] {
            // Tonight's queue: the first `want` distinct cases in row order.
            let mut chosen = std::collections::HashSet::new();
            for c in &cases {
                if chosen.len() < want {
                    chosen.insert(*c);
                }
            }
            let flagged: Vec<bool> = cases.iter().map(|c| chosen.contains(c)).collect();
            let mut best: BTreeMap<Option<&str>, f64> = BTreeMap::new();
            for (c, &v) in cases.iter().zip(&p) {
                let e = best.entry(*c).or_insert(v);
                *e = e.max(v);
            }
            let mut ranked: Vec<(Option<&str>, f64)> = best.into_iter().collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let top: std::collections::HashSet<Option<&str>> =
                ranked.iter().take(chosen.len()).map(|r| r.0).collect();
            let want_flags: Vec<bool> = cases.iter().map(|c| top.contains(c)).collect();
            assert_eq!(score_only_flags(&cases, &p, &flagged), want_flags, "{want}");
        }
    }

    /// Warned: a large group flagged at half what a queue by score alone
    /// would flag. Not warned: the same shortfall on few flags, or a group
    /// flagged as the scores say however its flag rate compares.
    #[test]
    fn the_nightly_warning_is_for_the_queues_rules_not_for_risk() {
        let counts = |rows: &[(&str, usize, usize, f64, usize)]| -> BTreeMap<String, QueueCounts> {
            rows.iter()
                .map(|&(g, n, flagged, risk, by_score)| {
                    (
                        g.to_string(),
                        QueueCounts {
                            n,
                            flagged,
                            risk,
                            by_score,
                        },
                    )
                })
                .collect()
        };
        let race = safeflag_core::contract::RACE_ETHNICITY;
        let options = MonitorOptions::default();
        let table = audit_queue(
            race,
            &counts(&[
                // Flagged 3x as often as A, as its scores say: no warning.
                ("A", 5000, 50, 50.0, 50),
                ("B", 2000, 60, 60.0, 60),
                // Half its flags by score: warned.
                ("C", 2000, 40, 40.0, 80),
                // Half again, but on 6 flags by score: too few to tell.
                ("D", 500, 3, 5.0, 6),
            ]),
            &FairnessOptions {
                reference: Some("A".into()),
                ..FairnessOptions::default()
            },
        );
        let b = table.groups.iter().find(|g| g.group == "B").unwrap();
        let ci = b.intervals["flag_rate"];
        assert!((ci.ratio - 3.0).abs() < 1e-12 && ci.low > 1.25, "{ci:?}");
        assert!((b.mean_predicted.unwrap() - 0.03).abs() < 1e-12);
        let w = queue_warnings(std::slice::from_ref(&table), &options);
        let subjects: Vec<&str> = w.iter().map(|w| w.subject.as_str()).collect();
        assert_eq!(subjects, vec![format!("{race}=C").as_str()]);
        assert!(
            w[0].message
                .contains("0.50x the children a queue by score alone"),
            "{}",
            w[0].message
        );
        // A grouping not watched warns of nothing.
        let quiet = MonitorOptions {
            fairness_warn: vec![],
            ..MonitorOptions::default()
        };
        assert!(queue_warnings(&[table], &quiet).is_empty());
    }
}
