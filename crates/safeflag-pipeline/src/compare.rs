//! Two models side by side on the same nights, before a switch: whose cases
//! the queue would gain and lose (by office and group), how the two rankings
//! agree, and the expected and (with outcomes) realised precision of each.
//!
//! Each night of the input (a snapshot, or every date of a stack) is scored
//! by both models and queued by the same policy through the nightly job's
//! own selection ([`safeflag_score::select_cases`]), with no suppression: the
//! difference is the models', not the history's. A case is one queue place;
//! its expected chance of an incident is `1 - prod(1 - p)` over its children
//! (independence assumed), and it is a realised hit when any of its children
//! had one.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use polars::prelude::*;
use safeflag_model::metrics::{Rate, spearman, wilson};
use safeflag_score::{DueReviews, QueuePolicy, rank_rows, score_rows, select_cases};
use serde::{Deserialize, Serialize};

use crate::training::take;
use crate::{Error, Model, Result};

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// A snapshot or a stack (labelled or not).
    pub input: PathBuf,
    /// The model in use.
    pub model_a: PathBuf,
    /// The model that might replace it.
    pub model_b: PathBuf,
    /// The queue policy both are queued by.
    pub policy: QueuePolicy,
    /// Agency mapping file.
    pub mapping: Option<PathBuf>,
    /// The data-quality gate.
    pub max_quarantine: f64,
}

/// `safeflag compare --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    /// Always `compare`.
    #[serde(rename = "type")]
    pub kind: String,
    /// 1.
    pub schema_version: u32,
    /// The input file's name.
    pub input: String,
    /// Model A's id.
    pub model_a: String,
    /// Model B's id.
    pub model_b: String,
    /// Whether the input carries outcomes (then realised precision is given).
    pub labelled: bool,
    /// Each night.
    pub nights: Vec<NightComparison>,
    /// Every night pooled.
    pub total: Totals,
    /// Cases entering and leaving the queue, by the lead child's office.
    pub by_office: Vec<Movement>,
    /// Cases entering and leaving the queue, by the lead child's race/ethnicity.
    pub by_group: Vec<Movement>,
}

/// One night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NightComparison {
    /// The snapshot date.
    pub date: String,
    /// Cases scored.
    pub cases: usize,
    /// The two queues and how they differ.
    pub queues: QueueChange,
    /// Spearman's correlation of the two models' case rankings (a case
    /// ranked by its highest-risk child), over every case.
    pub rank_correlation_all: Option<f64>,
    /// The same over the cases either model queued.
    pub rank_correlation_queued: Option<f64>,
}

/// How two queues differ: `queued_a = kept + left`, `queued_b = kept + entered`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueChange {
    /// Cases in A's queue.
    pub queued_a: usize,
    /// Cases in B's queue.
    pub queued_b: usize,
    /// Cases in both.
    pub kept: usize,
    /// Cases in B's queue and not A's.
    pub entered: usize,
    /// Cases in A's queue and not B's.
    pub left: usize,
    /// Queue places (ranks) held by the same case in both.
    pub same_place: usize,
    /// Expected incidents among A's queued cases, over its size.
    pub expected_precision_a: f64,
    /// The same for B.
    pub expected_precision_b: f64,
    /// A's queued cases with a child who had an incident (labelled input).
    pub realised_a: Option<Rate>,
    /// The same for B.
    pub realised_b: Option<Rate>,
}

/// Every night pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// Nights compared.
    pub nights: usize,
    /// The queues pooled over the nights.
    pub queues: QueueChange,
    /// B's expected precision less A's.
    pub expected_difference: f64,
    /// B's realised precision less A's (labelled input).
    pub realised_difference: Option<f64>,
}

/// Cases entering and leaving, for one office or group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Movement {
    /// The office or group (`(missing)` when not recorded).
    pub key: String,
    /// Cases in B's queue and not A's.
    pub entered: usize,
    /// Cases in A's queue and not B's.
    pub left: usize,
}

/// One model's queue on one night.
struct NightQueue {
    /// Queued case ids, in rank order.
    cases: Vec<String>,
    /// Each queued case's lead office and group.
    leads: BTreeMap<String, (String, String)>,
    /// Every case's ranking score (its highest child's probability).
    case_score: BTreeMap<String, f64>,
    /// Each case's expected chance of an incident.
    case_expected: BTreeMap<String, f64>,
}

/// Scores the input with both models and compares their queues night by night.
pub fn compare(options: &CompareOptions) -> Result<Comparison> {
    options.policy.check()?;
    let (a, b) = (
        Model::load(&options.model_a)?,
        Model::load(&options.model_b)?,
    );
    let validated = crate::ingest_mapped(&options.input, options.mapping.as_deref(), false)?;
    validated.report.check_gate(options.max_quarantine)?;
    let cases = &validated.cases;
    let outcome = safeflag_core::contract::OUTCOME;
    let labelled = cases
        .column(outcome)
        .is_ok_and(|c| c.null_count() < c.len());
    let (sa, sb) = (
        score_rows(&a.artifact, cases)?,
        score_rows(&b.artifact, cases)?,
    );
    let days = sa
        .scores
        .column("snapshot_date")?
        .as_materialized_series()
        .date()?
        .physical()
        .clone();
    let mut nights: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (r, d) in days.iter().enumerate() {
        let d = d.ok_or_else(|| Error::internal("a validated row has no snapshot date"))?;
        nights.entry(d).or_default().push(r);
    }
    let hit_cases = |rows: &[usize]| -> Result<HashSet<String>> {
        if !labelled {
            return Ok(HashSet::new());
        }
        let y = cases.column(outcome)?.bool()?;
        let ids = cases.column("case_id")?.str()?;
        Ok(rows
            .iter()
            .filter(|&&r| y.get(r) == Some(true))
            .filter_map(|&r| ids.get(r).map(str::to_string))
            .collect())
    };
    let mut out = Vec::new();
    let mut moves: [BTreeMap<String, (usize, usize)>; 2] = Default::default();
    let mut total = QueueChange::default();
    let (mut exp_a, mut exp_b) = (0.0, 0.0);
    for (&day, rows) in &nights {
        let qa = night_queue(&sa.scores, rows, &options.policy)?;
        let qb = night_queue(&sb.scores, rows, &options.policy)?;
        let hits = hit_cases(rows)?;
        let change = change(&qa, &qb, labelled.then_some(&hits));
        let (in_a, in_b): (BTreeSet<&String>, BTreeSet<&String>) =
            (qa.cases.iter().collect(), qb.cases.iter().collect());
        for c in in_b.difference(&in_a) {
            let (office, group) = &qb.leads[*c];
            moves[0].entry(office.clone()).or_default().0 += 1;
            moves[1].entry(group.clone()).or_default().0 += 1;
        }
        for c in in_a.difference(&in_b) {
            let (office, group) = &qa.leads[*c];
            moves[0].entry(office.clone()).or_default().1 += 1;
            moves[1].entry(group.clone()).or_default().1 += 1;
        }
        let all: Vec<&String> = qa.case_score.keys().collect();
        let pick = |q: &NightQueue, keys: &[&String]| -> Vec<f64> {
            keys.iter().map(|k| q.case_score[*k]).collect()
        };
        let union: Vec<&String> = in_a.union(&in_b).copied().collect();
        exp_a += change.expected_precision_a * change.queued_a as f64;
        exp_b += change.expected_precision_b * change.queued_b as f64;
        add(&mut total, &change);
        out.push(NightComparison {
            date: date_string(day),
            cases: qa.case_score.len(),
            queues: change,
            rank_correlation_all: spearman(&pick(&qa, &all), &pick(&qb, &all)),
            rank_correlation_queued: spearman(&pick(&qa, &union), &pick(&qb, &union)),
        });
    }
    total.expected_precision_a = exp_a / total.queued_a.max(1) as f64;
    total.expected_precision_b = exp_b / total.queued_b.max(1) as f64;
    let realised_difference = match (&total.realised_a, &total.realised_b) {
        (Some(ra), Some(rb)) => Some(rb.rate - ra.rate),
        _ => None,
    };
    let [by_office, by_group] = moves.map(|m| {
        m.into_iter()
            .map(|(key, (entered, left))| Movement { key, entered, left })
            .collect()
    });
    Ok(Comparison {
        kind: "compare".into(),
        schema_version: 1,
        input: options
            .input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        model_a: a.artifact.id(),
        model_b: b.artifact.id(),
        labelled,
        nights: out,
        total: Totals {
            nights: nights.len(),
            expected_difference: total.expected_precision_b - total.expected_precision_a,
            realised_difference,
            queues: total,
        },
        by_office,
        by_group,
    })
}

/// One model's queue of one night's rows.
fn night_queue(scores: &DataFrame, rows: &[usize], policy: &QueuePolicy) -> Result<NightQueue> {
    let night = take(scores, rows)?;
    let ranked = rank_rows(&night)?;
    let case = ranked.column("case_id")?.str()?;
    let p = ranked.column("probability")?.f64()?;
    let office = ranked.column("office")?.str()?;
    let group = ranked
        .column(safeflag_core::contract::RACE_ETHNICITY)?
        .str()?;
    let mut case_score = BTreeMap::new();
    let mut survive: BTreeMap<String, f64> = BTreeMap::new();
    for i in 0..ranked.height() {
        let (c, pi) = (case.get(i).unwrap_or_default(), p.get(i).unwrap_or(0.0));
        // Ranked by probability: the first row of a case is its highest.
        case_score.entry(c.to_string()).or_insert(pi);
        *survive.entry(c.to_string()).or_insert(1.0) *= 1.0 - pi;
    }
    let selection = select_cases(
        &ranked,
        policy,
        case_score.len(),
        &HashSet::new(),
        &DueReviews::default(),
    )?;
    let mut cases = Vec::with_capacity(selection.leads.len());
    let mut leads = BTreeMap::new();
    for &i in &selection.leads {
        let c = case.get(i).unwrap_or_default().to_string();
        let text = |v: Option<&str>| v.unwrap_or("(missing)").to_string();
        leads.insert(c.clone(), (text(office.get(i)), text(group.get(i))));
        cases.push(c);
    }
    Ok(NightQueue {
        cases,
        leads,
        case_score,
        case_expected: survive.into_iter().map(|(c, s)| (c, 1.0 - s)).collect(),
    })
}

/// How B's queue differs from A's.
fn change(a: &NightQueue, b: &NightQueue, hits: Option<&HashSet<String>>) -> QueueChange {
    let in_a: HashSet<&String> = a.cases.iter().collect();
    let kept = b.cases.iter().filter(|c| in_a.contains(c)).count();
    let expected = |q: &NightQueue| {
        q.cases.iter().map(|c| q.case_expected[c]).sum::<f64>() / q.cases.len().max(1) as f64
    };
    let realised = |q: &NightQueue| {
        hits.filter(|_| !q.cases.is_empty()).map(|h| {
            wilson(
                q.cases.iter().filter(|c| h.contains(*c)).count(),
                q.cases.len(),
            )
        })
    };
    QueueChange {
        queued_a: a.cases.len(),
        queued_b: b.cases.len(),
        kept,
        entered: b.cases.len() - kept,
        left: a.cases.len() - kept,
        same_place: a.cases.iter().zip(&b.cases).filter(|(x, y)| x == y).count(),
        expected_precision_a: expected(a),
        expected_precision_b: expected(b),
        realised_a: realised(a),
        realised_b: realised(b),
    }
}

/// Adds a night's counts (the rates are pooled by the caller).
fn add(total: &mut QueueChange, night: &QueueChange) {
    total.queued_a += night.queued_a;
    total.queued_b += night.queued_b;
    total.kept += night.kept;
    total.entered += night.entered;
    total.left += night.left;
    total.same_place += night.same_place;
    let pool = |t: &Option<Rate>, n: &Option<Rate>| match (t, n) {
        (Some(t), Some(n)) => Some(wilson(t.hits + n.hits, t.n + n.n)),
        (None, n) => *n,
        (t, None) => *t,
    };
    total.realised_a = pool(&total.realised_a, &night.realised_a);
    total.realised_b = pool(&total.realised_b, &night.realised_b);
}

fn date_string(day: i32) -> String {
    safeflag_core::days::from_days(day.into())
        .map(|d| d.to_string())
        .unwrap_or_default()
}
