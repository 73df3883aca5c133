//! Any scored child explained from a finished run (`safeflag explain`).
//!
//! The run keeps every row's probability but not its features, so the child's
//! row is read again from the run's own input (checked against the sha256 the
//! manifest recorded), its features built with the run's model (checked the
//! same way) and its contributions computed; the probability they give must
//! be the one the run published, or nothing is said. Standing in the queue
//! comes from the run's own files, so an explanation never disagrees with
//! what the supervisor received.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use safeflag_core::contract::{SLEEP_ENVIRONMENTS, UNSAFE_SLEEP};
use safeflag_features::{FeatureSpec, Transform, build_matrix};
use safeflag_model::ModelArtifact;
use safeflag_model::calibration::{describe, tier};
use safeflag_report::RunDir;
use safeflag_report::explain::{
    Contribution, ExplainedRun, Explanation, IdKind, OtherChild, Standing, WhatIf,
};

use crate::{Error, Model, Result};

/// What to explain.
#[derive(Debug, Clone)]
pub struct ExplainOptions {
    /// The run directory.
    pub run: PathBuf,
    /// A child id or a case id.
    pub id: String,
    /// Read the id only as this kind (when it is both a child's and a case's).
    pub kind: Option<IdKind>,
    /// The run's input, when it has moved since the run.
    pub input: Option<PathBuf>,
    /// The run's model directory, when the manifest does not name it or it moved.
    pub model: Option<PathBuf>,
}

/// The largest difference allowed between the probability recomputed here
/// and the one the run published (the run may have taken the warehouse's
/// scores, which are checked to this tolerance).
const TOLERANCE: f64 = 1e-6;

/// Explains one child of a finished run.
pub fn explain(options: &ExplainOptions) -> Result<Explanation> {
    let run = RunDir::open(&options.run)?;
    let m = &run.manifest;
    let scores = run.score_columns(&[
        "source_row",
        "case_id",
        "child_id",
        "office",
        "probability",
        "band",
    ])?;
    let (row, matched) = find(&scores, &options.id, options.kind, &options.run)?;
    let text = |name: &str, i: usize| -> Result<String> {
        Ok(scores
            .column(name)?
            .str()?
            .get(i)
            .unwrap_or_default()
            .to_string())
    };
    let (child_id, case_id, office) = (
        text("child_id", row)?,
        text("case_id", row)?,
        text("office", row)?,
    );
    let probs = scores.column("probability")?.f64()?;
    let published = probs.get(row).unwrap_or(f64::NAN);
    let band = scores.column("band")?.u32()?.get(row).unwrap_or(0) as u8;
    let source_row = scores
        .column("source_row")?
        .cast(&DataType::Int64)?
        .i64()?
        .get(row)
        .ok_or_else(|| Error::internal("a scored row has no source row"))?;

    let model = load_model(options, m.model.dir.clone())?;
    if model.artifact.sha256 != m.model.sha256 {
        return Err(Error::input(format!(
            "the model in `{}` is not the one run `{}` used ({})",
            model.dir.display(),
            options.run.display(),
            m.model.id
        )));
    }
    let artifact = &model.artifact;
    let child = input_row(options, &run, source_row, &child_id)?;
    let spec = &artifact.content.feature_spec;
    let x = build_matrix(&child, spec)?;
    let (base, contrib) = artifact.content.estimator.contributions(&x);
    // The model's own log-odds; the trees' Shapley values add up to them
    // only to rounding (about 1e-8 here), the logistic terms exactly.
    let log_odds = artifact.content.estimator.log_odds(&x)[0];
    let summed = base + contrib.row(0).sum();
    if (summed - log_odds).abs() > 1e-6 {
        return Err(Error::internal(format!(
            "child `{child_id}`'s contributions add up to {summed}, not the model's log-odds {log_odds}"
        )));
    }
    let recomputed = artifact.content.calibration.probability(log_odds);
    if (recomputed - published).abs() > TOLERANCE {
        return Err(Error::input(format!(
            "the input and model give child `{child_id}` probability {recomputed:.9}, not the {published:.9} run `{}` published",
            options.run.display()
        )));
    }
    // One line per factor: a shape's pieces, or a household item and its
    // products with the case type, add up to one contribution.
    let factors = safeflag_score::Factors::of(spec);
    let summed = factors.sum(&contrib.row(0).to_vec());
    let mut contributions: Vec<Contribution> = factors
        .list
        .iter()
        .zip(&summed)
        .map(|(f, &c)| {
            let first = f.members[0];
            let value = match &f.input {
                Some(input) => match safeflag_features::input_values(&child, input)?[0] {
                    Some(v) => input.words(v),
                    None => "not recorded".to_string(),
                },
                None => shown_value(&child, &spec.features[first].transform, x.x()[[0, first]])?,
            };
            Ok(Contribution {
                feature: f.name.clone(),
                label: f.label.clone(),
                value,
                contribution: c,
            })
        })
        .collect::<Result<_>>()?;
    contributions.sort_by(|a, b| {
        b.contribution
            .total_cmp(&a.contribution)
            .then_with(|| a.feature.cmp(&b.feature))
    });

    let (standing, others) = standing(&run, &scores, row, &case_id, &child_id, &office)?;
    let what_if = what_ifs(artifact, &child, published)?;
    Ok(Explanation {
        kind: "explanation",
        id: options.id.clone(),
        matched,
        run: ExplainedRun {
            dir: options.run.clone(),
            run_id: m.run_id.clone(),
            snapshot_date: m.snapshot_date.clone(),
            model_id: m.model.id.clone(),
        },
        child_id,
        case_id,
        office,
        probability: published,
        likelihood: describe(published),
        band,
        tier: tier(band).to_string(),
        log_odds,
        base,
        contributions,
        standing,
        other_children: others,
        what_if,
    })
}

/// The scored row the id names: the child's own row, or the case's lead
/// (its highest probability, then the smallest child id).
fn find(scores: &DataFrame, id: &str, kind: Option<IdKind>, run: &Path) -> Result<(usize, IdKind)> {
    let rows_where = |name: &str| -> Result<Vec<usize>> {
        Ok(scores
            .column(name)?
            .str()?
            .iter()
            .enumerate()
            .filter_map(|(i, v)| (v == Some(id)).then_some(i))
            .collect())
    };
    let as_child = if kind == Some(IdKind::Case) {
        Vec::new()
    } else {
        rows_where("child_id")?
    };
    let as_case = if kind == Some(IdKind::Child) {
        Vec::new()
    } else {
        rows_where("case_id")?
    };
    let probs = scores.column("probability")?.f64()?;
    let children = scores.column("child_id")?.str()?;
    let best = |rows: &[usize]| -> Option<usize> {
        rows.iter().copied().min_by(|&a, &b| {
            let (pa, pb) = (probs.get(a).unwrap_or(0.0), probs.get(b).unwrap_or(0.0));
            pb.total_cmp(&pa)
                .then_with(|| children.get(a).cmp(&children.get(b)))
        })
    };
    match (best(&as_child), best(&as_case)) {
        (Some(_), Some(_)) => Err(Error::input(format!(
            "`{id}` is both a child id and a case id in run `{}`: say which with --child or --case",
            run.display()
        ))),
        (Some(c), None) => Ok((c, IdKind::Child)),
        (None, Some(k)) => Ok((k, IdKind::Case)),
        (None, None) => Err(Error::input(format!(
            "`{id}` is neither a child id nor a case id scored in run `{}`",
            run.display()
        ))),
    }
}

fn load_model(options: &ExplainOptions, recorded: Option<PathBuf>) -> Result<Model> {
    let dir = options.model.clone().or(recorded).ok_or_else(|| {
        Error::input(format!(
            "the manifest of run `{}` does not name its model directory: give it with --model",
            options.run.display()
        ))
    })?;
    Model::load(&dir)
}

/// The child's validated row, read again from the run's input.
fn input_row(
    options: &ExplainOptions,
    run: &RunDir,
    source_row: i64,
    child_id: &str,
) -> Result<DataFrame> {
    let m = &run.manifest;
    let path = match &options.input {
        Some(p) => p.clone(),
        // A night built from an extract keeps its snapshot in the run folder.
        None if m.extract.is_some() && m.input.path.is_relative() => run.dir.join(&m.input.path),
        None => m.input.path.clone(),
    };
    let actual = safeflag_core::output::sha256_file(&path)
        .map_err(|e| Error::io("reading the run's input", &path, e))?;
    if actual != m.input.sha256 {
        return Err(Error::input(format!(
            "`{}` is not the input run `{}` read (its sha256 differs): give the night's file with --input",
            path.display(),
            options.run.display()
        )));
    }
    let validated = crate::ingest_mapped(&path, m.settings.mapping.as_deref(), false)?;
    let row = validated
        .cases
        .lazy()
        .filter(col("source_row").cast(DataType::Int64).eq(lit(source_row)))
        .collect()?;
    let same = row.height() == 1 && row.column("child_id")?.str()?.get(0) == Some(child_id);
    if !same {
        return Err(Error::input(format!(
            "row {source_row} of `{}` is not child `{child_id}` as the run scored it",
            path.display()
        )));
    }
    Ok(row)
}

/// The child's value of a feature as a person reads it: `yes` or `no`, with
/// the input number for features computed from a threshold on one, and the
/// number alone (in days for a day count) for counts and gaps.
fn shown_value(child: &DataFrame, t: &Transform, x: f64) -> Result<String> {
    let yes_no = if x != 0.0 { "yes" } else { "no" };
    let (column, with_yes_no) = match t {
        Transform::Positive { column } | Transform::Below { column, .. } => (column, true),
        Transform::Log1p { column } | Transform::Capped { column, .. } => (column, false),
        _ => return Ok(yes_no.to_string()),
    };
    let v = child
        .column(column)?
        .cast(&DataType::Float64)?
        .f64()?
        .get(0);
    let Some(v) = v else {
        return Ok("not recorded".to_string());
    };
    let mut n = if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    };
    if column.contains("days") {
        n.push_str(" days");
    }
    Ok(if with_yes_no {
        format!("{yes_no} ({n})")
    } else {
        n
    })
}

/// The case's standing in the run's ranking and queue, and its other children.
fn standing(
    run: &RunDir,
    scores: &DataFrame,
    row: usize,
    case_id: &str,
    child_id: &str,
    office: &str,
) -> Result<(Standing, Vec<OtherChild>)> {
    let cases = scores.column("case_id")?.str()?;
    let children = scores.column("child_id")?.str()?;
    let probs = scores.column("probability")?.f64()?;
    let mut lead: HashMap<&str, (f64, &str)> = HashMap::new();
    let mut others = Vec::new();
    for i in 0..scores.height() {
        let (Some(c), Some(k), Some(p)) = (cases.get(i), children.get(i), probs.get(i)) else {
            continue;
        };
        let e = lead.entry(c).or_insert((p, k));
        if p > e.0 || p == e.0 && k < e.1 {
            *e = (p, k);
        }
        if c == case_id && i != row {
            others.push(OtherChild {
                child_id: k.to_string(),
                probability: p,
            });
        }
    }
    others.sort_by(|a, b| {
        b.probability
            .total_cmp(&a.probability)
            .then_with(|| a.child_id.cmp(&b.child_id))
    });
    let (case_p, lead_child) = lead.get(case_id).copied().unwrap_or((0.0, child_id));
    let case_rank = 1 + lead.values().filter(|(p, _)| *p > case_p).count();

    let q = &run.queue;
    let q_case = q.column("case_id")?.str()?;
    let q_office = q.column("office")?.str()?;
    let q_p = q.column("probability")?.f64()?;
    let q_rank = q.column("rank")?.cast(&DataType::UInt32)?;
    let q_rank = q_rank.u32()?;
    let q_status = q.column("status").ok().and_then(|c| c.str().ok().cloned());
    let at = (0..q.height()).find(|&i| q_case.get(i) == Some(case_id));
    let min = |it: &mut dyn Iterator<Item = f64>| it.reduce(f64::min);
    let queue_lowest = min(&mut q_p.iter().flatten());
    let in_office: Vec<usize> = (0..q.height())
        .filter(|&i| q_office.get(i) == Some(office))
        .collect();
    let office_lowest = min(&mut in_office.iter().filter_map(|&i| q_p.get(i)));
    let office_capacity = run.manifest.settings.policy.capacity_of(office);
    let suppressed = match run.suppressed()? {
        Some(s) => s
            .column("case_id")?
            .str()?
            .iter()
            .any(|c| c == Some(case_id)),
        None => false,
    };
    let pct = |p: f64| format!("{:.1}%", 100.0 * p);
    let why = if let Some(i) = at {
        format!(
            "The case is queued at rank {} of {}{}.",
            q_rank.get(i).unwrap_or(0),
            q.height(),
            q_status
                .as_ref()
                .and_then(|s| s.get(i))
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        )
    } else if suppressed {
        "The case is not queued: it was reviewed recently with nothing material changed since, so passed over tonight.".to_string()
    } else if let (Some(cap), Some(low)) = (office_capacity, office_lowest)
        && in_office.len() >= cap
        && case_p <= low
    {
        format!(
            "The case is not queued: {office}'s queue was full ({cap} cases) and its lowest queued case had {}; this case's highest child had {}.",
            pct(low),
            pct(case_p)
        )
    } else if let Some(low) = queue_lowest {
        format!(
            "The case is not queued: tonight's queue of {} cases ended at {}; this case's highest child had {}.",
            q.height(),
            pct(low),
            pct(case_p)
        )
    } else {
        "The case is not queued: tonight's queue is empty.".to_string()
    };
    Ok((
        Standing {
            case_rank,
            cases: lead.len(),
            lead_child_id: lead_child.to_string(),
            queue_rank: at.and_then(|i| q_rank.get(i)),
            status: at.and_then(|i| q_status.as_ref().and_then(|s| s.get(i)).map(String::from)),
            suppressed,
            queued: q.height(),
            queue_lowest,
            office_queued: in_office.len(),
            office_capacity,
            office_lowest,
            why,
        },
        others,
    ))
}

/// The actions a worker can take that the model reads, each applied to the
/// child's row alone and scored again: a home visit today, and for an infant
/// a safe-sleep check that finds a crib or bassinet (both, when both apply).
fn what_ifs(model: &ModelArtifact, child: &DataFrame, now: f64) -> Result<Vec<WhatIf>> {
    const VISIT: &str = "days_since_last_visit";
    const SLEEP: &str = "sleep_environment";
    const SAFE: &str = "crib_bassinet";
    debug_assert!(SLEEP_ENVIRONMENTS.contains(&SAFE) && !UNSAFE_SLEEP.contains(&SAFE));
    let spec = &model.content.feature_spec;
    let reads = |column: &str| spec.input_columns().iter().any(|c| c == column);
    let visit_due = reads(VISIT)
        && child
            .column(VISIT)?
            .cast(&DataType::Int64)?
            .i64()?
            .get(0)
            .is_none_or(|d| d > 0);
    let age = safeflag_features::ages_in_days(child)?
        .first()
        .copied()
        .flatten();
    let sleep_check = reads(SLEEP)
        && age.is_some_and(|a| a < 365)
        && child.column(SLEEP)?.str()?.get(0) != Some(SAFE);

    let with = |visit: bool, sleep: bool| -> Result<DataFrame> {
        let mut df = child.clone();
        if visit {
            let dtype = df.column(VISIT)?.dtype().clone();
            df.with_column(Column::new(VISIT.into(), [0i64]).cast(&dtype)?)?;
        }
        if sleep {
            df.with_column(Column::new(SLEEP.into(), [SAFE]))?;
        }
        Ok(df)
    };
    let mut actions = Vec::new();
    if visit_due {
        actions.push(("a home visit today", with(true, false)?));
    }
    if sleep_check {
        actions.push((
            "a safe-sleep check that finds the infant sleeping in a crib or bassinet",
            with(false, true)?,
        ));
    }
    if visit_due && sleep_check {
        actions.push((
            "both: a home visit today that finds a crib or bassinet",
            with(true, true)?,
        ));
    }
    let mut out = actions
        .into_iter()
        .map(|(action, df)| {
            let p = probability(model, spec, &df)?;
            Ok(WhatIf {
                action: action.to_string(),
                probability: p,
                change: p - now,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.change.total_cmp(&b.change));
    Ok(out)
}

fn probability(model: &ModelArtifact, spec: &FeatureSpec, row: &DataFrame) -> Result<f64> {
    let x = build_matrix(row, spec)?;
    let z = model.content.estimator.log_odds(&x)[0];
    Ok(model.content.calibration.probability(z))
}

/// Writes the explanation's page, atomically and owner-only.
pub fn write_html(e: &Explanation, path: &Path) -> Result<()> {
    let page = safeflag_report::explain::render(e);
    safeflag_core::output::write_bytes_atomic(path, page.as_bytes())?;
    Ok(())
}
