//! Building contract snapshots, and labelled stacks, as of a date.
//!
//! Each snapshot column is one columnar step over the tables (filters on
//! knowledge dates, group-bys, joins; no loop over events), following the
//! rule written for it in `docs/extract-contract.md`. Every step first keeps
//! only what was recorded by the as-of date `D`, so nothing later can reach
//! a row. The result goes through ingest's validation like any snapshot, and
//! is sorted by `(case_id, child_id)`, so the same extract and date give the
//! same bytes whatever the thread count.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, Days, NaiveDate};
use polars::prelude::*;
use safeflag_core::contract::{self, OUTCOME, Presence};
use safeflag_core::extract_contract::SUBSTANTIATED;
use safeflag_ingest::{IngestOptions, InputFormat, SOURCE_ROW};
use serde::{Deserialize, Serialize};

use crate::keys::{CASE_CODE, PERSON_CODE, Wanted, keep};
use crate::load::{Extract, date_lit, days};
use crate::{Error, Result};

/// What one snapshot holds, and what it could not fill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSummary {
    /// The as-of date.
    pub as_of: String,
    /// Children in the snapshot.
    pub rows: usize,
    /// Children by case type.
    pub by_case_type: BTreeMap<String, usize>,
    /// Rows whose case has no approved assessment rating any household item
    /// (the three items empty: not yet assessed).
    pub no_assessment: usize,
    /// Rows with no face-to-face contact on record (`days_since_last_visit` empty).
    pub no_contact: usize,
    /// Rows with no caregiver age (no in-home parent or caregiver, or no birth date).
    pub no_caregiver_age: usize,
    /// Caregiver ages outside the contract's 10..=100 years, left empty.
    pub caregiver_age_out_of_range: usize,
    /// Children who are members of two open cases on the date: left out, not guessed.
    pub children_in_two_cases: usize,
    /// Child members born after the date (a case opened before birth): left out.
    pub not_yet_born: usize,
    /// Rows the snapshot validation quarantined (a builder that keeps its
    /// rules makes none).
    pub quarantined: usize,
}

/// A snapshot built from an extract.
#[derive(Debug, Clone)]
pub struct Built {
    /// Contract columns, in contract order (with the outcome in a stack), sorted by
    /// `(case_id, child_id)`.
    pub frame: DataFrame,
    /// What it holds.
    pub summary: BuildSummary,
}

/// How outcome labels are drawn for a training stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelOptions {
    /// An incident counts when `D < occurred_on <= D + window_days`.
    pub window_days: u32,
    /// Incidents can be recorded this many days late: a date's window must
    /// have closed by the extract date minus the lag, or its rows are left out.
    pub lag_days: u32,
}

impl Default for LabelOptions {
    fn default() -> Self {
        LabelOptions {
            window_days: 365,
            lag_days: 90,
        }
    }
}

/// A labelled training stack.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Every date's snapshot with `outcome_critical_incident`, sorted by
    /// `(snapshot_date, case_id, child_id)`.
    pub frame: DataFrame,
    /// What it holds.
    pub summary: StackSummary,
}

/// What a stack holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackSummary {
    /// Rows in the stack.
    pub rows: usize,
    /// Rows with an incident in their window.
    pub positives: usize,
    /// Dates whose window had not closed (extract date minus the lag): their
    /// rows are left out of the stack.
    pub censored_dates: Vec<String>,
    /// Rows left out because their window had not closed.
    pub censored_rows: usize,
    /// The label window and lag used.
    pub window_days: u32,
    /// The recording lag allowed for.
    pub lag_days: u32,
    /// Each date's snapshot summary (censored dates included).
    pub snapshots: Vec<BuildSummary>,
}

/// The as-of dates `from, from + every, ...` up to `to` inclusive.
pub fn dates_every(from: NaiveDate, to: NaiveDate, every_days: u32) -> Result<Vec<NaiveDate>> {
    if every_days == 0 {
        return Err(Error::Options("`--every` must be at least 1 day".into()));
    }
    if to < from {
        return Err(Error::Options(format!(
            "`--to` {to} is before `--from` {from}"
        )));
    }
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(d);
        d = d + Days::new(every_days.into());
    }
    Ok(out)
}

/// Builds the contract snapshot (version 1.1) of every child in an open case on `date`.
pub fn snapshot(x: &Extract, date: NaiveDate) -> Result<Built> {
    if date > x.extracted_on {
        return Err(Error::Options(format!(
            "as-of date {date} is after the extract date {}: nothing after it is known",
            x.extracted_on
        )));
    }
    let _span = tracing::info_span!("snapshot", as_of = %date).entered();
    let (frame, mut summary) = assemble(x, date)?;
    let frame = validate(frame, date, false, &mut summary)?;
    summarise(&frame, &mut summary)?;
    Ok(Built { frame, summary })
}

/// Builds a labelled stack: one snapshot per date with
/// `outcome_critical_incident`, leaving out the dates whose label window has
/// not closed by the extract date minus the lag.
pub fn stack(x: &Extract, dates: &[NaiveDate], label: LabelOptions) -> Result<Stack> {
    let closed_by = x
        .extracted_on
        .checked_sub_days(Days::new(label.lag_days.into()))
        .ok_or_else(|| Error::Options("the recording lag is too long".into()))?;
    let mut frames = Vec::new();
    let mut summary = StackSummary {
        window_days: label.window_days,
        lag_days: label.lag_days,
        ..StackSummary::default()
    };
    // The dates are built side by side (each date's steps are small for
    // polars to spread over the cores), a pool's width at a time: a thread
    // that waits on polars takes other dates' work onto its own stack, so
    // the whole list at once nests as deep as it is long (and overflows an
    // unoptimised build's stack at a hundred dates).
    let built: Vec<Built> = {
        use rayon::prelude::*;
        let width = rayon::current_num_threads().max(1);
        let mut built = Vec::with_capacity(dates.len());
        for chunk in dates.chunks(width) {
            built.extend(
                chunk
                    .par_iter()
                    .map(|&date| snapshot(x, date))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        built
    };
    for (&date, built) in dates.iter().zip(built) {
        let closes = date + Days::new(label.window_days.into());
        if closes > closed_by {
            summary.censored_dates.push(date.to_string());
            summary.censored_rows += built.frame.height();
        } else {
            let labelled = add_label(x, built.frame, date, label.window_days)?;
            summary.positives += labelled.column(OUTCOME)?.bool()?.sum().unwrap_or(0) as usize;
            summary.rows += labelled.height();
            frames.push(labelled.lazy());
        }
        summary.snapshots.push(built.summary);
    }
    let frame = if frames.is_empty() {
        return Err(Error::Options(format!(
            "every date's label window closes after {closed_by} (the extract date {} minus a {}-day recording lag): no row can be labelled",
            x.extracted_on, label.lag_days
        )));
    } else {
        concat(frames, UnionArgs::default())?.collect()?
    };
    Ok(Stack { frame, summary })
}

/// `outcome_critical_incident`: an incident of the child with
/// `date < occurred_on <= date + window` (the contract's label; a stack only
/// keeps dates whose window has closed).
fn add_label(x: &Extract, frame: DataFrame, date: NaiveDate, window: u32) -> Result<DataFrame> {
    let end = date + Days::new(window.into());
    let hit = x
        .table("incidents")
        .clone()
        .lazy()
        .filter(
            col("occurred_on")
                .gt(date_lit(date))
                .and(col("occurred_on").lt_eq(date_lit(end))),
        )
        .select([col("child_id")])
        .collect()?;
    let ids = hit.column("child_id")?.as_materialized_series().unique()?;
    Ok(frame
        .lazy()
        .with_column(
            col("child_id")
                .is_in(lit(ids).implode(false), false)
                .alias(OUTCOME),
        )
        .collect()?)
}

/// A stack's rows relabelled with only the incidents recorded by
/// `known_on`: the labels an agency would have drawn that day.
///
/// A snapshot as of `D` is the same whether it is built from the whole
/// extract or from the extract as it stood on any later day (the time-travel
/// property the tests hold), so a stack built on a later day differs only
/// in its labels; a backtest rebuilds those, not the snapshots. The caller
/// keeps only rows whose window had closed by then.
pub fn labels_known_on(
    x: &Extract,
    frame: &DataFrame,
    window_days: u32,
    known_on: NaiveDate,
) -> Result<DataFrame> {
    let incidents = x
        .table("incidents")
        .clone()
        .lazy()
        .filter(col("recorded_on").lt_eq(date_lit(known_on)))
        .select([col("child_id"), col("occurred_on")]);
    let window = lit(i64::from(window_days));
    let hits = frame
        .clone()
        .lazy()
        .with_row_index("__row", None)
        .select([col("__row"), col("child_id"), col("snapshot_date")])
        .join(
            incidents,
            [col("child_id")],
            [col("child_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(
            col("occurred_on").gt(col("snapshot_date")).and(
                (col("occurred_on").cast(DataType::Int64)
                    - col("snapshot_date").cast(DataType::Int64))
                .lt_eq(window),
            ),
        )
        .select([col("__row")])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    let rows = hits.column("__row")?.as_materialized_series().clone();
    Ok(frame
        .clone()
        .lazy()
        .with_row_index("__row", None)
        .with_column(
            col("__row")
                .is_in(lit(rows).implode(false), false)
                .alias(OUTCOME),
        )
        .drop(by_name(["__row"], true, false))
        .collect()?)
}

/// The snapshot's rows before validation, and the counts of what was left out.
///
/// Cases and persons are joined and grouped by their codes (`crate::keys`),
/// never by the text of their ids.
fn assemble(x: &Extract, date: NaiveDate) -> Result<(DataFrame, BuildSummary)> {
    let (cases, persons) = x.coded;
    let d = || date_lit(date);
    let covers = |start: &str, end: &str| {
        col(start)
            .lt_eq(d())
            .and(col(end).is_null().or(col(end).gt(d())))
    };
    let known = |c: &str| col(c).lt_eq(d());

    // The case period covering D (the later start if two do).
    let periods = x
        .table("case_periods")
        .clone()
        .lazy()
        .filter(known("recorded_on").and(covers("start_date", "end_date")))
        .sort_by_exprs(
            [col(CASE_CODE), col("start_date")],
            SortMultipleOptions::default().with_order_descending_multi([false, true]),
        )
        .unique_stable(Some(cols([CASE_CODE])), UniqueKeepStrategy::First)
        .select([
            col(CASE_CODE),
            col("case_id"),
            col("office"),
            col("supervisor_id"),
            col("worker_id"),
            col("case_type"),
        ])
        .collect()?;
    // Each event table is first cut to the rows of the open cases (or of
    // their children), so the joins and group-bys below work on thousands of
    // rows, not millions.
    let open = Wanted::of(&periods, CASE_CODE, cases)?;
    let open_rows = |t: &str, known: &str, columns: &[&str]| -> Result<LazyFrame> {
        Ok(keep(x.table(t), CASE_CODE, &open, Some((known, date)), columns)?.lazy())
    };

    // Memberships covering D in an open case, with each member's birth date.
    let members = open_rows(
        "case_members",
        "recorded_on",
        &[
            CASE_CODE,
            PERSON_CODE,
            "role",
            "in_home",
            "start_date",
            "end_date",
            "recorded_on",
        ],
    )?
    .filter(known("recorded_on").and(covers("start_date", "end_date")))
    .collect()?;
    let people = keep(
        x.table("persons"),
        PERSON_CODE,
        &Wanted::of(&members, PERSON_CODE, persons)?,
        None,
        &[
            PERSON_CODE,
            "person_id",
            "birth_date",
            "sex",
            "race_ethnicity",
            "disability",
        ],
    )?;
    let members = members
        .lazy()
        .join(
            people
                .clone()
                .lazy()
                .select([col(PERSON_CODE), col("birth_date")]),
            [col(PERSON_CODE)],
            [col(PERSON_CODE)],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col(CASE_CODE),
            col(PERSON_CODE),
            col("role"),
            col("in_home"),
            col("birth_date"),
        ])
        .collect()?;

    // The children of each open case (in the home or not): the family whose
    // history counts, and the rows of the snapshot.
    let kids = members
        .clone()
        .lazy()
        .filter(col("role").eq(lit("child")))
        .select([col(CASE_CODE), col(PERSON_CODE)])
        .unique(None, UniqueKeepStrategy::First)
        .collect()?;
    let in_two = kids
        .clone()
        .lazy()
        .group_by([col(PERSON_CODE)])
        .agg([len().alias("n")])
        .filter(col("n").gt(lit(1)))
        .select([col(PERSON_CODE)])
        .collect()?;
    let in_two_ids = in_two.column(PERSON_CODE)?.as_materialized_series().clone();

    // The household of each open case on D.
    let is = |role: &str| col("role").eq(lit(role.to_string()));
    let parent = is("parent").or(is("caregiver")).and(col("in_home"));
    let household = members.clone().lazy().group_by([col(CASE_CODE)]).agg([
        col(PERSON_CODE)
            .filter(is("child").and(col("in_home")))
            .n_unique()
            .cast(DataType::Int64)
            .alias("children_in_home"),
        is("unrelated_adult")
            .and(col("in_home"))
            .any(true)
            .alias("unrelated_adult_in_home"),
        col("birth_date").filter(parent).max().alias("__cg_birth"),
    ]);

    // Reports and removals of any child of the case, known by D.
    let on_kids = |lf: LazyFrame| {
        lf.join(
            kids.clone().lazy().rename([PERSON_CODE], ["__kid"], true),
            [col(PERSON_CODE)],
            [col("__kid")],
            JoinArgs::new(JoinType::Inner),
        )
    };
    let substantiated = col("disposition")
        .is_in(
            lit(Series::new("s".into(), SUBSTANTIATED)).implode(false),
            false,
        )
        .and(known("disposition_recorded_on"))
        .fill_null(lit(false));
    let kid_codes = Wanted::of(&kids, PERSON_CODE, persons)?;
    let kid_rows = |t: &str, known: &str, columns: &[&str]| -> Result<LazyFrame> {
        Ok(keep(
            x.table(t),
            PERSON_CODE,
            &kid_codes,
            Some((known, date)),
            columns,
        )?
        .lazy())
    };
    // A report or removal is one row (its id is the table's key) about one
    // child, and a child is one row of its case's children: so the rows of a
    // case, counted, are its distinct reports.
    let reports = on_kids(
        kid_rows(
            "reports",
            "recorded_on",
            &[
                PERSON_CODE,
                "recorded_on",
                "received_on",
                "disposition",
                "disposition_recorded_on",
            ],
        )?
        .filter(known("recorded_on").and(col("received_on").lt(d())))
        .select([col(PERSON_CODE), substantiated.alias("__subst")]),
    )
    .group_by([col(CASE_CODE)])
    .agg([
        len().cast(DataType::Int64).alias("prior_reports"),
        col("__subst")
            .sum()
            .cast(DataType::Int64)
            .alias("prior_substantiations"),
    ]);
    let removals = on_kids(
        kid_rows(
            "removals",
            "recorded_on",
            &[PERSON_CODE, "recorded_on", "removed_on"],
        )?
        .filter(known("recorded_on").and(col("removed_on").lt(d())))
        .select([col(PERSON_CODE)]),
    )
    .group_by([col(CASE_CODE)])
    .agg([len().cast(DataType::Int64).alias("prior_removals")]);

    // The latest face-to-face contact of the case: with the household, or with this child.
    let visits = open_rows(
        "contacts",
        "recorded_on",
        &[
            CASE_CODE,
            PERSON_CODE,
            "person_id",
            "recorded_on",
            "contact_on",
            "kind",
        ],
    )?
    .filter(
        known("recorded_on")
            .and(col("contact_on").lt_eq(d()))
            .and(col("kind").eq(lit("face_to_face"))),
    );
    let household_visit = visits
        .clone()
        .filter(col("person_id").is_null())
        .group_by([col(CASE_CODE)])
        .agg([col("contact_on").max().alias("__visit_home")]);
    let child_visit = visits
        .filter(col("person_id").is_not_null())
        .group_by([col(CASE_CODE), col(PERSON_CODE)])
        .agg([col("contact_on").max().alias("__visit_child")]);

    // Assessments approved by D: the latest that rates each item.
    let assessed = open_rows(
        "assessments",
        "approved_on",
        &[
            CASE_CODE,
            "assessment_id",
            "assessed_on",
            "approved_on",
            "parental_mental_health",
            "parental_substance_use",
            "domestic_violence",
        ],
    )?
    .filter(known("approved_on"));
    // A child's sleep place from an assessment in any case: cut by child.
    let assessed_child = kid_rows(
        "assessments",
        "approved_on",
        &[
            PERSON_CODE,
            "assessment_id",
            "assessed_on",
            "approved_on",
            "sleep_environment",
        ],
    )?
    .filter(known("approved_on"));
    // Sorted once, oldest first; a group keeps its rows in that order, so
    // each item's last non-empty value is the latest assessment that rates it.
    let oldest_first = |lf: LazyFrame| {
        lf.sort_by_exprs(
            [col("assessed_on"), col("approved_on"), col("assessment_id")],
            SortMultipleOptions::default(),
        )
    };
    let latest = |item: &str| col(item).last_non_null().alias(item);
    let sleep = oldest_first(assessed_child)
        .group_by([col(PERSON_CODE)])
        .agg([latest("sleep_environment")]);
    let household_items = oldest_first(assessed).group_by([col(CASE_CODE)]).agg([
        latest("parental_mental_health"),
        latest("parental_substance_use"),
        latest("domestic_violence"),
    ]);

    let left = || JoinArgs::new(JoinType::Left);
    let rows = kids
        .clone()
        .lazy()
        .filter(
            col(PERSON_CODE)
                .is_in(lit(in_two_ids).implode(false), false)
                .not(),
        )
        .join(
            periods.lazy(),
            [col(CASE_CODE)],
            [col(CASE_CODE)],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            people.lazy().select([
                col(PERSON_CODE),
                col("person_id").alias("child_id"),
                col("birth_date").alias("child_birth_date"),
                col("sex").alias("child_sex"),
                col("race_ethnicity").alias("child_race_ethnicity"),
                col("disability").alias("child_disability"),
            ]),
            [col(PERSON_CODE)],
            [col(PERSON_CODE)],
            left(),
        )
        .collect()?;
    let born = rows
        .column("child_birth_date")?
        .as_materialized_series()
        .lt_eq(&Series::new("d".into(), [days(date)]).cast(&DataType::Date)?)?;
    let not_yet_born = born.len() - born.sum().unwrap_or(0) as usize;
    let rows = rows.filter(&born)?;

    let (y, m, dd) = (
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    );
    let b = || col("__cg_birth");
    let birthday_ahead = b().dt().month().cast(DataType::Int64).gt(lit(m)).or(b()
        .dt()
        .month()
        .cast(DataType::Int64)
        .eq(lit(m))
        .and(b().dt().day().cast(DataType::Int64).gt(lit(dd))));
    let age = lit(y)
        - b().dt().year().cast(DataType::Int64)
        - when(birthday_ahead).then(lit(1i64)).otherwise(lit(0i64));
    let (min_age, max_age) = match contract::column("caregiver_age").map(|c| c.ty) {
        Some(contract::ColumnType::Int { min, max }) => (min, max.unwrap_or(i64::MAX)),
        _ => (10, 100),
    };
    let rows = rows
        .lazy()
        .join(household, [col(CASE_CODE)], [col(CASE_CODE)], left())
        .join(reports, [col(CASE_CODE)], [col(CASE_CODE)], left())
        .join(removals, [col(CASE_CODE)], [col(CASE_CODE)], left())
        .join(sleep, [col(PERSON_CODE)], [col(PERSON_CODE)], left())
        .join(household_items, [col(CASE_CODE)], [col(CASE_CODE)], left())
        .join(household_visit, [col(CASE_CODE)], [col(CASE_CODE)], left())
        .join(
            child_visit,
            [col(CASE_CODE), col(PERSON_CODE)],
            [col(CASE_CODE), col(PERSON_CODE)],
            left(),
        )
        .with_columns([
            age.alias("__age"),
            polars::lazy::dsl::max_horizontal([col("__visit_home"), col("__visit_child")])?
                .alias("__visit"),
        ])
        .with_columns([
            date_lit(date).alias("snapshot_date"),
            when(
                col("__age")
                    .gt_eq(lit(min_age))
                    .and(col("__age").lt_eq(lit(max_age))),
            )
            .then(col("__age"))
            .otherwise(lit(NULL).cast(DataType::Int64))
            .alias("caregiver_age"),
            col("__age")
                .is_not_null()
                .and(
                    col("__age")
                        .lt(lit(min_age))
                        .or(col("__age").gt(lit(max_age))),
                )
                .alias("__age_out"),
            (lit(days(date)) - col("__visit").cast(DataType::Int32))
                .cast(DataType::Int64)
                .alias("days_since_last_visit"),
            when(col("children_in_home").gt(lit(0i64)))
                .then(col("children_in_home"))
                .otherwise(lit(NULL).cast(DataType::Int64))
                .alias("children_in_home"),
            col("unrelated_adult_in_home").fill_null(lit(false)),
            col("prior_reports").fill_null(lit(0i64)),
            col("prior_substantiations").fill_null(lit(0i64)),
            col("prior_removals").fill_null(lit(0i64)),
        ])
        .collect()?;
    let out_of_range = rows.column("__age_out")?.bool()?.sum().unwrap_or(0) as usize;
    let columns: Vec<Expr> = contract::COLUMNS
        .iter()
        .filter(|c| c.presence != Presence::Outcome)
        .map(|c| col(c.name))
        .collect();
    let frame = rows
        .lazy()
        .select(columns)
        .sort(["case_id", "child_id"], SortMultipleOptions::default())
        .collect()?;
    Ok((
        frame,
        BuildSummary {
            as_of: date.to_string(),
            children_in_two_cases: in_two.height(),
            not_yet_born,
            caregiver_age_out_of_range: out_of_range,
            ..BuildSummary::default()
        },
    ))
}

/// Passes the built rows through the snapshot validation, as any snapshot
/// would be; what it quarantines is counted (a builder that keeps its rules
/// makes none, and the tests hold it to that).
fn validate(
    frame: DataFrame,
    date: NaiveDate,
    outcome: bool,
    summary: &mut BuildSummary,
) -> Result<DataFrame> {
    let raw = frame.with_row_index(SOURCE_ROW.into(), Some(1))?;
    let label = format!("<snapshot as of {date}>");
    let v = safeflag_ingest::validate_frame(
        raw,
        Path::new(&label),
        InputFormat::Parquet,
        &IngestOptions::default().with_require_outcome(outcome),
    )
    .map_err(|source| Error::Table {
        table: "snapshot",
        source,
    })?;
    summary.quarantined = v.report.rows_quarantined;
    Ok(v.cases.drop(SOURCE_ROW)?)
}

fn summarise(frame: &DataFrame, s: &mut BuildSummary) -> Result<()> {
    s.rows = frame.height();
    let nulls = |c: &str| -> Result<usize> { Ok(frame.column(c)?.null_count()) };
    s.no_contact = nulls("days_since_last_visit")?;
    s.no_caregiver_age = nulls("caregiver_age")?;
    let none = frame
        .clone()
        .lazy()
        .select([col("parental_mental_health")
            .is_null()
            .and(col("parental_substance_use").is_null())
            .and(col("domestic_violence").is_null())
            .sum()
            .alias("n")])
        .collect()?;
    s.no_assessment = none.column("n")?.get(0)?.extract::<usize>().unwrap_or(0);
    let types = frame.column("case_type")?.str()?;
    for t in types.iter().flatten() {
        *s.by_case_type.entry(t.to_string()).or_default() += 1;
    }
    Ok(())
}
