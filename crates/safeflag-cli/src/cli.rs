//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use safeflag_model::{FeatureSet, ModelKind};
use safeflag_report::{ExportFormat, Recipient};

/// safeflag: open, explainable risk flagging for child-welfare case review.
///
/// Exit codes: 0 success; 1 bad input, arguments, mapping or config;
/// 2 internal error (a bug, the engine, the store, a full disk); 3 data-quality
/// gate tripped (nothing published); 4 another nightly run holds the lock.
#[derive(Debug, Parser)]
#[command(name = "safeflag", version = VERSION, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// `0.1.0 (commit 1a2b3c4)`: the build's commit, set by build.rs (`unknown`
/// outside a git checkout).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SAFEFLAG_COMMIT"),
    ")"
);

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only data and errors: no status lines.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log lines on stderr as JSON objects (for log collectors) instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a case snapshot against the data contract, with quarantine.
    Validate(ValidateArgs),
    /// Generate synthetic contract data (or a relational extract) with a known ground truth.
    Generate(GenerateArgs),
    /// Build a contract snapshot (or a labelled training stack) from a relational extract.
    ///
    /// One snapshot as of a date (default: the extract date), or with
    /// --from/--to/--every a stack of snapshots labelled from the incidents
    /// table. A fact counts on a date only if it was recorded by then
    /// (docs/extract-contract.md).
    Snapshot(SnapshotArgs),
    /// Train a model on labelled snapshots and write models/NAME/.
    Train(TrainArgs),
    /// Evaluate a model on labelled snapshots.
    Evaluate(EvaluateArgs),
    /// Rolling-origin backtest of candidate models on an extract or a
    /// labelled stack, with a choice by regret.
    ///
    /// At each cut-off every candidate is trained on what was known by then
    /// (labels whose window had closed, with the recording lag) and scores
    /// the period after it; the choice favours the candidate never far from
    /// the best in any period. With --out the chosen settings are trained on
    /// every labelled row and the backtest goes in the model card.
    Backtest(BacktestArgs),
    /// Two models on the same snapshot or stack, before a switch: queue
    /// places that change, rank correlation, who enters and leaves (by
    /// office and group), expected and realised precision.
    Compare(CompareArgs),
    /// Score tonight's snapshot and write the ranked coaching queue.
    Score(ScoreArgs),
    /// Split a run's queue into one file per office or supervisor.
    Export(ExportArgs),
    /// Report on a run: tables, JSON or a self-contained HTML page.
    Report(ReportArgs),
    /// Any scored child of a run explained, queued or not: probability and
    /// band, rank against tonight's cut-off, every factor's contribution in
    /// plain words, and what a worker could change.
    ///
    /// The child's row is read again from the run's input and scored with
    /// the run's model, both checked against the sha256 the manifest
    /// recorded; a case id explains the case's highest-risk child.
    Explain(ExplainArgs),
    /// The nightly job: score, queue, suppress, export, report and record, from a config file.
    ///
    /// Writes ROOT/runs/DATE/ (queue, scores, exports, report, manifest) and
    /// the flag history. Exit codes: 0 success; 1 bad input, config, model or
    /// mapping; 2 internal error; 3 data-quality gate tripped (nothing
    /// published; the attempt is logged); 4 another nightly run holds the lock.
    Nightly(NightlyArgs),
    /// Reviewer dispositions in the flag history.
    #[command(subcommand)]
    Reviews(ReviewsCommand),
    /// What happened after the flags: outcomes in, and the look back at
    /// past queues (realised precision, recall, calibration over time).
    #[command(subcommand)]
    Outcomes(OutcomesCommand),
    /// The model for other engines: one SQL query for a warehouse.
    #[command(subcommand)]
    Model(ModelCommand),
    /// The nightly runs recorded in the flag history.
    Runs(RunsArgs),
    /// One case's flags, suppressions and reviews.
    History(HistoryArgs),
    /// Print a shell completion script: `safeflag completions bash > /etc/bash_completion.d/safeflag`.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `safeflag man > safeflag.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The extract directory: one file per table and `extract.toml`.
    #[arg(value_name = "EXTRACT_DIR")]
    pub extract: PathBuf,
    /// Output file: `.csv`, `.parquet` or `.arrow`.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The as-of date (default: the extract date).
    #[arg(long, value_name = "DATE", conflicts_with_all = ["from", "to", "every"])]
    pub as_of: Option<chrono::NaiveDate>,
    #[command(flatten)]
    pub stack: StackArgs,
    /// The agency's extract mapping (one `[tables.NAME]` section per table; docs/extract-contract.md).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Write every table's quarantined rows (table, row, column, rule, value) here.
    #[arg(long, value_name = "FILE")]
    pub quarantine: Option<PathBuf>,
    /// The data-quality gate: the largest share of any table's rows that may be quarantined.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.05, value_parser = fraction)]
    pub max_quarantine: f64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The dates and labels of a training stack built from an extract.
#[derive(Debug, Args)]
pub struct StackArgs {
    /// A training stack from an extract: the first as-of date.
    #[arg(long, value_name = "DATE", requires_all = ["to", "every"])]
    pub from: Option<chrono::NaiveDate>,
    /// A training stack: the last as-of date (inclusive).
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<chrono::NaiveDate>,
    /// A training stack: days between as-of dates.
    #[arg(long, value_name = "DAYS", requires = "from", value_parser = clap::value_parser!(u32).range(1..))]
    pub every: Option<u32>,
    /// A training stack: an incident counts when it happens within this many days after the date.
    #[arg(long, value_name = "DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub label_days: u32,
    /// A training stack: days an incident may take to be recorded; a date
    /// whose window closes later than the extract date minus this is left out.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub label_lag: u32,
}

impl StackArgs {
    /// The stack asked for, if `--from` was given (clap requires `--to` and `--every` with it).
    pub fn dates(&self) -> Option<safeflag_pipeline::extract::Dates> {
        Some(safeflag_pipeline::extract::Dates::Stack {
            from: self.from?,
            to: self.to?,
            every_days: self.every?,
            label: safeflag_extract::LabelOptions {
                window_days: self.label_days,
                lag_days: self.label_lag,
            },
        })
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The config file option shared by the history commands.
const DEFAULT_CONFIG: &str = "safeflag.toml";

#[derive(Debug, Args)]
pub struct NightlyArgs {
    /// The config file (TOML; keys in docs/nightly.md).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The night to run (default: the snapshot's latest snapshot_date). A
    /// rerun for a date replaces that date's run and its history.
    #[arg(long, value_name = "DATE")]
    pub date: Option<chrono::NaiveDate>,
}

#[derive(Debug, Subcommand)]
pub enum ReviewsCommand {
    /// Import reviews: a reviewer's returned workbook (.xlsx: item ratings,
    /// protective factors, consultation, disposition, action items), or CSV
    /// (case_id, review_date, reviewer, outcome, override_reason); any bad
    /// cell or row rejects the whole file.
    Import(ReviewsImportArgs),
    /// Practice measures over past nights: flagged cases reviewed on time,
    /// consultations within the deadline, action items, overrides.
    Report(ReviewsReportArgs),
}

#[derive(Debug, Args)]
pub struct ReviewsReportArgs {
    /// The config file naming the history store and the `[review]` deadlines.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The first night counted (default: the first in the history).
    #[arg(long, value_name = "DATE")]
    pub from: Option<chrono::NaiveDate>,
    /// The last night counted (default: the last in the history).
    #[arg(long, value_name = "DATE")]
    pub to: Option<chrono::NaiveDate>,
    /// The day the measures are taken: reviews up to it count, open actions
    /// due before it are overdue (default: today).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<chrono::NaiveDate>,
    /// Print the measures as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReviewsImportArgs {
    /// The reviews file: a returned workbook (`.xlsx`) or CSV.
    pub file: PathBuf,
    /// The config file naming the history store (and the model directory,
    /// whose instrument a workbook is checked against).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The instrument a workbook's reviews were made with (default: the
    /// config's model directory's `instrument.toml`, else the built-in one).
    #[arg(long, value_name = "FILE")]
    pub instrument: Option<PathBuf>,
    /// Print what was recorded as JSON (workbooks).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// The model as one SQL query over a table in the contract's shape:
    /// every row's log-odds, probability, band and tier (and, for the
    /// logistic model, each feature's contribution), the same numbers as
    /// `safeflag score` (docs/warehouse.md).
    Sql(ModelSqlArgs),
    /// The feature matrix -> calibrated probability part of the model as an
    /// ONNX graph (ONNX 13, ONNX-ML 3), with its feature spec beside it
    /// (FILE.features.json) saying how each input column is computed.
    Onnx(ModelOnnxArgs),
}

#[derive(Debug, Args)]
pub struct ModelOnnxArgs {
    /// The model directory (or its model.json).
    pub model: PathBuf,
    /// The ONNX file to write (atomically, owner-only).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ModelSqlArgs {
    /// The model directory (or its model.json).
    pub model: PathBuf,
    /// The SQL dialect.
    #[arg(long, value_enum)]
    pub dialect: safeflag_sql::Dialect,
    /// The table (or view) holding the contract's columns, clean.
    #[arg(long, value_name = "NAME", default_value = "safeflag_cases")]
    pub table: String,
    /// Write `CREATE TABLE` for the contract's columns in the dialect's types
    /// instead of the query.
    #[arg(long)]
    pub ddl: bool,
    /// Write `CREATE VIEW` (named --table) over this raw table of text
    /// columns instead of the query: the contract's cleaning (trimming,
    /// missing spellings, codes and booleans in any spelling, casts), without
    /// the quarantine.
    #[arg(long, value_name = "RAW_TABLE", conflicts_with = "ddl")]
    pub clean_view: Option<String>,
    /// Write the SQL to this file (atomically, owner-only) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum OutcomesCommand {
    /// Record outcomes in the history: a file (child_id, occurred_on,
    /// recorded_on, kind, severity; CSV, Parquet or Arrow) or an extract
    /// directory (its incidents, reports and removals). Any bad row rejects
    /// the whole file; importing a file again changes nothing.
    Import(OutcomesImportArgs),
    /// The look back at past nights: each night's window (closed, or open
    /// and how far), realised precision and recall at the queue's size with
    /// 95% intervals, calibration against realised outcomes, by month, band,
    /// office, group and age band. Reads the history and each run's score
    /// file as they are; nothing is re-scored.
    Report(OutcomesReportArgs),
}

#[derive(Debug, Args)]
pub struct OutcomesImportArgs {
    /// The outcomes file, or an extract directory.
    pub source: PathBuf,
    /// The config file naming the history store.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The day the file is complete through (default: its latest
    /// `recorded_on`); windows close only by it.
    #[arg(long, value_name = "DATE")]
    pub known_through: Option<chrono::NaiveDate>,
    /// Print what was recorded as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OutcomesReportArgs {
    /// The config file naming the history store.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// The first night (default: the first in the history).
    #[arg(long, value_name = "DATE")]
    pub from: Option<chrono::NaiveDate>,
    /// The last night (default: the last in the history).
    #[arg(long, value_name = "DATE")]
    pub to: Option<chrono::NaiveDate>,
    /// Days after a night in which an outcome counts (the model's label
    /// window, so calibration is read against what the probability means).
    #[arg(long, value_name = "DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub window: u32,
    /// Days after a window ends for late recordings, before it counts as closed.
    #[arg(long, value_name = "DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub lag: u32,
    /// The outcome kinds that count (repeatable).
    #[arg(long = "kind", value_name = "KIND", default_value = "incident", value_parser = ["incident", "report", "removal"])]
    pub kinds: Vec<String>,
    /// Days after a flag night in which a review of the case counts as its review.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub reviewed_within: u32,
    /// Also write the monthly series as CSV (for an interrupted-time-series analysis).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also write the look back as a self-contained HTML page with charts
    /// (realised precision and calibration month by month).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the look back as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// The config file naming the history store.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The case.
    pub case_id: String,
    /// The config file naming the history store.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A run directory written by `safeflag score` or `safeflag nightly`.
    pub run_dir: PathBuf,
    /// One file per office or per supervisor.
    #[arg(long, value_enum, default_value = "office")]
    pub by: Recipient,
    /// File format.
    #[arg(long, value_enum, default_value = "xlsx")]
    pub format: ExportFormat,
    /// Directory to write the files and export-manifest.json into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The review instrument for the workbooks' review sheets (default: the
    /// one built in, `models/default/instrument.toml`).
    #[arg(long, value_name = "FILE")]
    pub instrument: Option<PathBuf>,
    /// Print the export manifest as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run directory written by `safeflag score` or `safeflag nightly`.
    pub run_dir: PathBuf,
    /// Print the report as JSON (schema in docs/report.md) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the self-contained HTML report here.
    #[arg(long, value_name = "OUT.html")]
    pub html: Option<PathBuf>,
}

/// The queue's limits, for `score` and `compare`.
#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Queue at most this many cases (default 50 when no other limit is given).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Queue at most this percentage of scored cases.
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub top_percent: Option<f64>,
    /// Queue only cases whose lead child's probability is at least this.
    #[arg(long, value_name = "PROBABILITY", value_parser = fraction)]
    pub threshold: Option<f64>,
    /// Reviewer capacity: at most N cases per office.
    #[arg(long, value_name = "N")]
    pub office_capacity: Option<usize>,
    /// Capacity of one office, overriding --office-capacity (repeatable): `--capacity Northside=8`.
    #[arg(long, value_name = "OFFICE=N", value_parser = office_capacity)]
    pub capacity: Vec<(String, usize)>,
}

impl QueueArgs {
    /// The policy these limits make (checked, with the default applied).
    pub fn policy(&self) -> safeflag_pipeline::Result<safeflag_score::QueuePolicy> {
        safeflag_pipeline::settings::queue_policy(
            self.top,
            self.top_percent,
            self.threshold,
            self.office_capacity,
            self.capacity.iter().cloned().collect(),
        )
    }
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A child id, or a case id (its highest-risk child is explained).
    #[arg(value_name = "CASE_ID|CHILD_ID")]
    pub id: String,
    /// The run directory (`out/runs/DATE`, or a `score --out` directory).
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Read the id as a child id only.
    #[arg(long, conflicts_with = "case")]
    pub child: bool,
    /// Read the id as a case id only.
    #[arg(long)]
    pub case: bool,
    /// The run's input, if it has moved since the run (checked by its sha256).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// The run's model directory, if it has moved (checked by its sha256).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Also write the explanation as a small self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the explanation as JSON (for computers).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The model in use (directory or model.json).
    pub model_a: PathBuf,
    /// The model that might replace it.
    pub model_b: PathBuf,
    /// A snapshot or a stack (`.csv`, `.parquet`, `.arrow`); with outcomes,
    /// realised precision too.
    pub input: PathBuf,
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Agency column-mapping file (TOML).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Fail (exit 3) when more than this share of rows is quarantined.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.05, value_parser = fraction)]
    pub max_quarantine: f64,
    /// Print the result as JSON (for computers).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Tonight's snapshot: `.csv`, `.parquet` or `.arrow`.
    pub snapshot: PathBuf,
    /// The model directory (or its model.json).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The output directory (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub queue: QueueArgs,
    /// Probabilities computed elsewhere (the model as SQL in the warehouse):
    /// child_id, snapshot_date, probability for every scored row. Each must
    /// be within 1e-6 of safeflag's own or the run is refused; the queue,
    /// reasons and exports then use them (docs/warehouse.md).
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,
    /// Also write every row's score as Arrow IPC (`scores.arrow`) beside
    /// `scores.parquet`.
    #[arg(long)]
    pub scores_arrow: bool,
    /// Coaching prompts (TOML); default: the model directory's own
    /// coaching-prompts.toml, else the prompts built into safeflag.
    #[arg(long, value_name = "FILE")]
    pub prompts: Option<PathBuf>,
    /// Agency column-mapping file (TOML).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Fail (exit 3, no queue) when more than this share of rows is quarantined.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.05, value_parser = fraction)]
    pub max_quarantine: f64,
    /// Warn when a feature's population stability index against training exceeds this.
    #[arg(long, value_name = "PSI", default_value_t = 0.2)]
    pub psi_warning: f64,
    /// Print the run summary as JSON (the manifest) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled snapshots (with `outcome_critical_incident`), or an extract
    /// directory with --from/--to/--every (the stack is built, then trained on).
    pub input: PathBuf,
    #[command(flatten)]
    pub stack: StackArgs,
    /// The model directory to write, e.g. `models/NAME`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace a model already in the directory (refused without it).
    #[arg(long)]
    pub force: bool,
    /// Coaching prompts (TOML) to ship in the model directory; without it the
    /// model uses the prompts built into safeflag.
    #[arg(long, value_name = "FILE")]
    pub prompts: Option<PathBuf>,
    /// Model family.
    #[arg(long, value_enum, default_value = "logistic")]
    pub model: ModelKind,
    /// Time split: train before this date, test on or after it (default: about the last quarter of rows).
    #[arg(long, value_name = "DATE", conflicts_with = "test_fraction")]
    pub split_date: Option<chrono::NaiveDate>,
    /// Split by case instead of time: this share of cases is the test side.
    #[arg(long, value_name = "FRACTION", value_parser = fraction)]
    pub test_fraction: Option<f64>,
    /// Share of the training side's cases held out for calibration and bands.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.2, value_parser = fraction)]
    pub calibration_fraction: f64,
    /// Seed of every random choice (splits, trees).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Queue size to report precision and recall at, on the test side.
    #[arg(long, value_name = "N")]
    pub k: Option<usize>,
    /// The features: `standard` is age in bands and the rest as indicators,
    /// logarithms and caps; `shaped` learns the shape of age, the visit gap,
    /// caregiver age and the counts from the training rows (knots at their
    /// quantiles) and weighs household items by case type and infancy;
    /// `raw`, for boosted trees, gives each number as a number beside the
    /// codes. Default: fit the standard set and the family's richer one
    /// (logistic: shaped, gbm: raw), and keep the richer only when its Brier
    /// score on the held-out rows is lower by more than twice the standard
    /// error of the difference.
    #[arg(long, value_enum)]
    pub features: Option<FeatureSet>,
    /// Logistic: L2 weight on the standardised coefficients (against the summed log-loss).
    #[arg(long, value_name = "ALPHA", default_value_t = 1.0)]
    pub l2: f64,
    /// Logistic: Newton steps at most (the fit converges in about ten).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_iterations: u64,
    /// GBM: number of trees.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub gbm_trees: usize,
    /// GBM: learning rate.
    #[arg(long, value_name = "RATE", default_value_t = 0.1)]
    pub gbm_learning_rate: f32,
    /// GBM: maximum tree depth.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub gbm_max_depth: usize,
    /// GBM: hold a tenth of the fit side's cases out, stop adding trees once
    /// N in a row have not improved their log-loss, and keep the trees up to
    /// the best.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub gbm_early_stopping: Option<u64>,
    /// Also fit the other model family (with the --l2 or --gbm-* settings
    /// given for it) on the same rows, and record both families' held-out
    /// figures in the model card.
    #[arg(long)]
    pub compare_families: bool,
    /// Compare the families and keep the one with the higher precision in
    /// the top 5% of the held-out rows (then average precision, then the
    /// simpler, logistic, family).
    #[arg(long)]
    pub choose_family: bool,
    #[command(flatten)]
    pub labelled: LabelledArgs,
    /// Record in the artifact that the data are synthetic (shipped models).
    #[arg(long)]
    pub synthetic: bool,
    /// Print the result as JSON (for computers).
    #[arg(long)]
    pub json: bool,
}

/// Options shared by the commands that read labelled data and audit fairness.
#[derive(Debug, Args)]
pub struct LabelledArgs {
    /// Agency column-mapping file (TOML).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Fail (exit 3) when more than this share of rows is quarantined.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.05, value_parser = fraction)]
    pub max_quarantine: f64,
    /// Reference group of the fairness audit (default: the largest group).
    #[arg(long, value_name = "GROUP")]
    pub fairness_reference: Option<String>,
    /// Groups with fewer positives than this are marked too small to judge.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub fairness_min_positives: usize,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// An extract directory (with --from, --to and --every for its stack's
    /// snapshot dates) or a labelled stack file.
    pub input: PathBuf,
    #[command(flatten)]
    pub stack: StackArgs,
    /// How many cut-offs (periods).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub cutoffs: u32,
    /// Days scored after each cut-off; the next cut-off follows them.
    #[arg(long, value_name = "DAYS", default_value_t = 91, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub period: u32,
    /// The first cut-off (default: the one that makes the last period end on
    /// the last labelled snapshot date).
    #[arg(long, value_name = "DATE")]
    pub first_cutoff: Option<chrono::NaiveDate>,
    /// Cases in each night's queue (the nightly config's `queue.top`).
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub capacity: u32,
    /// What the choice is made on.
    #[arg(long, value_enum, default_value = "precision")]
    pub criterion: safeflag_model::backtest::Criterion,
    /// Only these candidates (by name; default: all of them).
    #[arg(long = "candidate", value_name = "NAME")]
    pub candidates: Vec<String>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of each training set's cases held out for calibration.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.2, value_parser = fraction)]
    pub calibration_fraction: f64,
    /// Write each period's rows (train.parquet, test.parquet) and every
    /// candidate's model under this directory.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Train the chosen candidate on every labelled row into this model directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace a model already in --out.
    #[arg(long)]
    pub force: bool,
    /// Record in the chosen model's card that the data are synthetic.
    #[arg(long)]
    pub synthetic: bool,
    #[command(flatten)]
    pub labelled: LabelledArgs,
    /// Print the result as JSON (for computers).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Labelled snapshots (with `outcome_critical_incident`).
    pub input: PathBuf,
    /// The model directory (or its model.json).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// Queue size to report precision and recall at.
    #[arg(long, value_name = "N")]
    pub k: Option<usize>,
    /// A `generate --truth` file for the same rows: also report the ground truth's metrics.
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    #[command(flatten)]
    pub labelled: LabelledArgs,
    /// Print the result as JSON (for computers).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The snapshot: `.csv`, `.parquet` or `.arrow` (`.ipc`, `.feather`).
    pub input: PathBuf,
    /// Agency column-mapping file (TOML), see docs/mapping.md.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Write the quarantined rows (row, column, rule, value) here (`.csv`, `.parquet`, `.arrow`).
    #[arg(long, value_name = "OUT")]
    pub quarantine: Option<PathBuf>,
    /// Fail (exit 3) when more than this share of rows is quarantined.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.05, value_parser = fraction)]
    pub max_quarantine: f64,
    /// Also require and validate `outcome_critical_incident` (training data).
    #[arg(long)]
    pub require_outcome: bool,
    /// Print the report as JSON (for computers) instead of a table (for humans).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Rows (children on snapshot dates) to generate, across all snapshots.
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
    /// Random seed; the same seed gives byte-identical output.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output file: `.csv`, `.parquet` or `.arrow`.
    #[arg(long, value_name = "FILE", required_unless_present = "extract")]
    pub out: Option<PathBuf>,
    /// Write an event-level relational extract into this directory instead
    /// of snapshot rows (docs/synthetic-extract.md).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "messy", "rows", "snapshots"])]
    pub extract: Option<PathBuf>,
    /// With --extract: children in the world (whole families, so a few more).
    #[arg(long, default_value_t = 2_000, requires = "extract")]
    pub children: usize,
    /// With --extract: years of history before the extract date.
    #[arg(long, default_value_t = 2, requires = "extract", value_parser = clap::value_parser!(u32).range(1..=30))]
    pub years: u32,
    /// With --extract: the extract date.
    #[arg(
        long,
        value_name = "DATE",
        default_value = "2025-12-31",
        requires = "extract"
    )]
    pub extracted_on: chrono::NaiveDate,
    /// With --extract: the tables' format.
    #[arg(long, value_name = "EXT", default_value = "parquet", value_parser = ["csv", "parquet", "arrow"], requires = "extract")]
    pub format: String,
    /// Leave out `outcome_critical_incident` (a nightly snapshot).
    #[arg(long)]
    pub no_outcome: bool,
    /// Also write each row's true probability (child_id, snapshot_date,
    /// true_probability); with --extract, each child's true hazard per
    /// 30-day step (child_id, step_start, hazard, died_on).
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Number of snapshot dates (a training set stacks several).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub snapshots: u32,
    /// The ground truth the outcomes are drawn from: `banded` (risk in the
    /// shapes of the standard feature spec) or `curved` (risk peaking inside
    /// the first months, hinges, caps, household factors by case type and
    /// effects the spec does not name; docs/synthetic-data.md).
    #[arg(long, value_enum, default_value = "banded", conflicts_with_all = ["extract", "messy"])]
    pub world: safeflag_synth::RiskWorld,
    /// The first (or only) snapshot date, YYYY-MM-DD.
    #[arg(long, default_value = "2025-11-21", value_name = "DATE")]
    pub first_date: chrono::NaiveDate,
    /// Days between snapshot dates.
    #[arg(long, default_value_t = 91, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub interval_days: u32,
    /// Write the small messy CSV that breaks every contract rule at known rows
    /// (ignores --rows and the snapshot options; --out must be `.csv`).
    #[arg(long)]
    pub messy: bool,
    /// With --messy: also write the injected problems (row, column, rule) as CSV.
    #[arg(long, value_name = "FILE", requires = "messy")]
    pub expected: Option<PathBuf>,
}

fn percent(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v > 0.0 && v <= 100.0 {
        Ok(v)
    } else {
        Err(format!("`{s}` is not a percentage above 0 and at most 100"))
    }
}

fn office_capacity(s: &str) -> Result<(String, usize), String> {
    let (office, n) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("`{s}` is not OFFICE=N"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` in `{s}` is not a whole number"))?;
    Ok((office.trim().to_string(), n))
}

fn fraction(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is not between 0 and 1"))
    }
}
