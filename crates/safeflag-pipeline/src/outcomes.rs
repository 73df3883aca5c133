//! Outcomes in, and the look back at past nights: the order of
//! `safeflag outcomes import` and `safeflag outcomes report`.
//!
//! Nothing is re-scored: each past night's queue comes from the history and
//! its scored children from the run's own `scores.parquet`, as published. A
//! run whose score file is gone is still listed, with its queue only.

use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use safeflag_history::{OutcomeImport, Store};
use safeflag_outcomes::{LookBack, LookBackOptions, Night, ScoredChild};

use crate::night::take_lock;
use crate::{Config, Error, Result};

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutcomesImported {
    /// The file or extract directory.
    pub source: String,
    /// Outcomes read.
    pub rows: usize,
    /// What the store did with them.
    #[serde(flatten)]
    pub import: OutcomeImport,
}

/// Reads outcomes from a file, or from an extract directory (its incidents,
/// reports and removals), and records them in the history, all or nothing.
pub fn import_outcomes(
    config: &Config,
    source: &Path,
    known_through: Option<NaiveDate>,
) -> Result<OutcomesImported> {
    let read = if source.is_dir() {
        if known_through.is_some() {
            return Err(Error::input(
                "`--known-through` is for a file; an extract is known through its own date",
            ));
        }
        // The config's mapping is an extract mapping when its input is an
        // extract; read and gated as for a night.
        let x = crate::extract::read_extract(
            &crate::extract::ExtractSource {
                dir: source.to_path_buf(),
                mapping: config
                    .input
                    .extract
                    .as_ref()
                    .and(config.input.mapping.clone()),
                max_quarantine: config.input.max_quarantine,
            },
            None,
        )?;
        safeflag_outcomes::from_extract(&x)?
    } else {
        safeflag_outcomes::read_file(source, known_through)?
    };
    let _lock = take_lock(config)?;
    let mut store = Store::open(&config.history.store)?;
    let name = source.display().to_string();
    let import = store.record_outcomes(
        &read.outcomes,
        &read.known_through.to_string(),
        &name,
        &read.sha256,
    )?;
    Ok(OutcomesImported {
        source: name,
        rows: read.outcomes.len(),
        import,
    })
}

/// What to look back over.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSettings {
    /// The first night (default: the first published).
    pub from: Option<NaiveDate>,
    /// The last night (default: the last published).
    pub to: Option<NaiveDate>,
    /// Days after a night in which an outcome counts.
    pub window_days: u32,
    /// Days for late recordings after a window ends.
    pub lag_days: u32,
    /// The outcome kinds that count.
    pub kinds: Vec<String>,
    /// Days after a flag in which a review counts as its review.
    pub reviewed_within_days: u32,
}

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// The look back over the history's published nights.
pub fn outcomes_report(config: &Config, s: &ReportSettings) -> Result<LookBack> {
    let store = Store::open(&config.history.store)?;
    let Some(known) = store.outcomes_known_through()?.as_deref().and_then(day) else {
        return Err(Error::input(format!(
            "the history `{}` has no outcomes yet: `safeflag outcomes import FILE` first",
            config.history.store.display()
        )));
    };
    let mut nights = Vec::new();
    for run in store.runs()?.into_iter().filter(|r| r.status == "ok") {
        let Some(date) = day(&run.run_date) else {
            continue;
        };
        if s.from.is_some_and(|f| date < f) || s.to.is_some_and(|t| date > t) {
            continue;
        }
        let scores = Path::new(&run.out_dir).join(safeflag_report::manifest::SCORES_PARQUET);
        nights.push(Night {
            date,
            model_id: run.model_id.clone(),
            queued: store.queued_cases(&run.run_id)?,
            children: if scores.exists() {
                Some(scored_children(&scores)?)
            } else {
                None
            },
        });
    }
    if nights.is_empty() {
        return Err(Error::input(format!(
            "the history `{}` has no published night in the range",
            config.history.store.display()
        )));
    }
    let reviews: Vec<(String, NaiveDate)> = store
        .review_dates()?
        .into_iter()
        .filter_map(|(c, d)| Some((c, day(&d)?)))
        .collect();
    let options = LookBackOptions {
        window_days: s.window_days,
        lag_days: s.lag_days,
        known_through: known,
        kinds: s.kinds.clone(),
        reviewed_within_days: s.reviewed_within_days,
    };
    Ok(safeflag_outcomes::look_back(
        &nights,
        &store.outcomes()?,
        &reviews,
        &options,
    ))
}

/// Every child a run scored, from its score file. The group and age band
/// columns are read when the file has them (runs before they were kept
/// do not).
fn scored_children(path: &Path) -> Result<Vec<ScoredChild>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io("reading", path, e))?;
    let mut reader = ParquetReader::new(file);
    // Only the columns the look back reads, of those the file has.
    let have = reader.schema()?;
    let wanted: Vec<String> = [
        "child_id",
        "case_id",
        "office",
        "probability",
        "band",
        safeflag_core::contract::RACE_ETHNICITY,
        "age_band",
    ]
    .into_iter()
    .filter(|c| have.contains(c))
    .map(str::to_string)
    .collect();
    let df = reader.with_columns(Some(wanted)).finish()?;
    let text = |c: &str| -> Result<Vec<Option<String>>> {
        Ok(match df.column(c) {
            Ok(col) => col
                .cast(&DataType::String)?
                .str()?
                .iter()
                .map(|v| v.map(str::to_string))
                .collect(),
            Err(_) => vec![None; df.height()],
        })
    };
    let (child, case, office) = (text("child_id")?, text("case_id")?, text("office")?);
    let (group, age) = (
        text(safeflag_core::contract::RACE_ETHNICITY)?,
        text("age_band")?,
    );
    let p = df.column("probability")?.cast(&DataType::Float64)?;
    let band = df.column("band")?.cast(&DataType::UInt32)?;
    let (p, band) = (p.f64()?, band.u32()?);
    Ok((0..df.height())
        .map(|i| ScoredChild {
            child_id: child[i].clone().unwrap_or_default(),
            case_id: case[i].clone().unwrap_or_default(),
            office: office[i].clone().unwrap_or_default(),
            probability: p.get(i).unwrap_or(f64::NAN),
            band: band.get(i).unwrap_or(0),
            group: group[i].clone(),
            age_band: age[i].clone(),
        })
        .collect())
}

/// Writes the monthly series as CSV, atomically and owner-only.
pub fn write_monthly_csv(lb: &LookBack, path: &Path) -> Result<()> {
    let mut df = lb.monthly_frame()?;
    safeflag_ingest::write_frame(&mut df, path)?;
    Ok(())
}

/// Writes the look back as a self-contained HTML page with its charts,
/// atomically and owner-only.
pub fn write_html(lb: &LookBack, path: &Path) -> Result<()> {
    let page = safeflag_report::look_back::render(lb);
    safeflag_core::output::write_bytes_atomic(path, page.as_bytes())?;
    Ok(())
}
