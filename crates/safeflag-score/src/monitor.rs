//! Watching every run: is tonight's queue fair across groups of children, and
//! does tonight's data still look like the data the model learned from?
//!
//! Both checks run on every scoring run and land in the run manifest, so a
//! drifting extract or a skewed queue is seen the night it happens, not at the
//! next model review. Warnings are advisory: they never stop a run.

use std::collections::HashSet;

use polars::prelude::*;
use rayon::prelude::*;
use safeflag_core::FeatureMatrix;
use safeflag_features::{age_bands, text_column};
use safeflag_model::ModelArtifact;
use safeflag_model::fairness::{FairnessOptions, FairnessTable, audit};
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

/// One feature's drift against its training distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// Feature name.
    pub feature: String,
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

/// Runs the checks on tonight's validated `cases`, their feature matrix `x`
/// and the set of queued case ids.
pub fn monitor(
    model: &ModelArtifact,
    cases: &DataFrame,
    x: &FeatureMatrix,
    queued: &HashSet<&str>,
    options: &MonitorOptions,
) -> Result<Monitoring> {
    let c = &model.content;
    let mut warnings = Vec::new();

    let drift: Vec<FeatureDrift> = c
        .distributions
        .par_iter()
        .filter_map(|d| {
            let j = x.names().iter().position(|n| n == &d.name)?;
            let v = x.column(j);
            let v = v.as_slice()?;
            let psi = d.psi(v);
            Some(FeatureDrift {
                feature: d.name.clone(),
                psi,
                mean_training: d.mean,
                mean_tonight: v.iter().sum::<f64>() / v.len().max(1) as f64,
                warn: psi > options.psi_warning,
            })
        })
        .collect();
    for d in drift.iter().filter(|d| d.warn) {
        warnings.push(Warning {
            kind: "drift".into(),
            subject: d.feature.clone(),
            message: format!(
                "feature `{}` has drifted: PSI {:.3} > {} (mean {:.3} in training, {:.3} tonight)",
                d.feature, d.psi, options.psi_warning, d.mean_training, d.mean_tonight
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
                "column `{}` is missing in {:.1}% of rows tonight against {:.1}% in training",
                m.column,
                m.tonight * 100.0,
                m.training * 100.0
            ),
        });
    }

    let flagged: Vec<bool> = cases
        .column("case_id")?
        .str()?
        .iter()
        .map(|c| c.is_some_and(|c| queued.contains(c)))
        .collect();
    let race_options = FairnessOptions {
        reference: options.reference_group.clone(),
        ..FairnessOptions::default()
    };
    let race = text_column(cases, safeflag_core::contract::RACE_ETHNICITY)?;
    let bands = age_bands(cases)?;
    let fairness = vec![
        audit(
            safeflag_core::contract::RACE_ETHNICITY,
            &race,
            &flagged,
            None,
            &race_options,
        ),
        audit(
            "age_band",
            &bands,
            &flagged,
            None,
            &FairnessOptions::default(),
        ),
    ];
    let (low, high) = options.fairness_band;
    for table in fairness
        .iter()
        .filter(|t| options.fairness_warn.contains(&t.grouping))
    {
        for g in &table.groups {
            let Some(Some(r)) = g.ratios.get("flag_rate") else {
                continue;
            };
            if g.group != table.reference
                && g.n >= options.min_group_size
                && !(low..=high).contains(r)
            {
                warnings.push(Warning {
                    kind: "fairness".into(),
                    subject: format!("{}={}", table.grouping, g.group),
                    message: format!(
                        "{} `{}`: flag rate {:.2}% is {:.2}x that of `{}`, outside {low}-{high}",
                        table.grouping,
                        g.group,
                        g.flag_rate * 100.0,
                        r,
                        table.reference
                    ),
                });
            }
        }
    }
    Ok(Monitoring {
        options: options.clone(),
        fairness,
        drift,
        missing,
        warnings,
    })
}
