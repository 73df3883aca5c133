//! Settings: the nightly job's config file (TOML), and the one set of checks
//! that flags and config both go through.
//!
//! Every key, its default and its meaning are in docs/nightly.md; unknown
//! keys are refused by name, so a typo never silently falls back to a
//! default. Relative paths are relative to the config file's directory, so
//! the job runs the same from any cwd. A queue policy and monitor options
//! are built by [`queue_policy`] and checked by their own `check`, whether
//! they came from `safeflag score`'s flags or from this file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{Error, Result};
use safeflag_history::SuppressionPolicy;
use safeflag_report::{ExportFormat, Recipient};
use safeflag_score::{MonitorOptions, QueuePolicy};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Tonight's extract.
    pub input: InputConfig,
    /// The model.
    pub model: ModelConfig,
    /// Queue policy.
    #[serde(default)]
    pub queue: QueueConfig,
    /// Supervisor exports.
    #[serde(default)]
    pub export: ExportConfig,
    /// Fairness and drift thresholds.
    #[serde(default)]
    pub monitor: MonitorOptions,
    /// Review suppression.
    #[serde(default)]
    pub suppression: SuppressionPolicy,
    /// The flag history store.
    #[serde(default)]
    pub history: HistoryConfig,
    /// The review loop's deadlines and calendar.
    #[serde(default)]
    pub review: ReviewConfig,
    /// Where runs are written.
    #[serde(default)]
    pub output: OutputConfig,
}

/// `[input]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InputConfig {
    /// The snapshot; `{date}` in it is replaced by `--date`.
    pub snapshot: Option<String>,
    /// Or a relational extract directory, from which tonight's snapshot is
    /// built (as of `--date`, else the extract date).
    pub extract: Option<PathBuf>,
    /// Agency mapping: a snapshot mapping, or with `extract` an extract
    /// mapping (one `[tables.NAME]` section per table).
    pub mapping: Option<PathBuf>,
    /// The data-quality gate.
    #[serde(default = "default_max_quarantine")]
    pub max_quarantine: f64,
    /// Probabilities computed in the warehouse for tonight, taken for the
    /// queue after checking them (`crate::warehouse`); `{date}` in it is
    /// replaced by `--date`.
    pub scores: Option<String>,
}

fn default_max_quarantine() -> f64 {
    0.05
}

/// `[model]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelConfig {
    /// The model directory.
    pub dir: PathBuf,
    /// Coaching prompts; default the model directory's own, else the built-in ones.
    pub prompts: Option<PathBuf>,
    /// The sha256 `model.json` must have: a model that does not match is
    /// refused, so an edited model cannot score even with its checksum
    /// recomputed.
    pub sha256: Option<String>,
}

/// `[queue]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QueueConfig {
    /// At most this many cases.
    pub top: Option<usize>,
    /// At most this percentage of scored cases.
    pub top_percent: Option<f64>,
    /// Only lead probabilities at least this.
    pub threshold: Option<f64>,
    /// Cases per office per night.
    pub office_capacity: Option<usize>,
    /// Per-office overrides, `[queue.capacity]` `Northside = 10`.
    #[serde(default)]
    pub capacity: BTreeMap<String, usize>,
}

/// `[export]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExportConfig {
    /// Recipients: `office`, `supervisor`, or both.
    pub by: Vec<Recipient>,
    /// Formats: `xlsx`, `csv`, or both.
    pub formats: Vec<ExportFormat>,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            by: vec![Recipient::Office],
            formats: vec![ExportFormat::Xlsx, ExportFormat::Csv],
        }
    }
}

/// `[review]`: deadlines in business days, and the agency's holidays.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReviewConfig {
    /// Business days from a flag to its review (default 1).
    pub review_days: u32,
    /// Business days from a flag to the consultation (default 1).
    pub consultation_days: u32,
    /// Days that are not business days besides weekends (`YYYY-MM-DD`).
    pub holidays: Vec<toml::value::Datetime>,
    /// Days from a review to the case's next (default 91: quarterly).
    pub re_review_days: u32,
    /// Re-reviews end when the youngest child reaches this age in months
    /// (default 36: the third birthday).
    pub re_review_until_age_months: u32,
    /// Whether a re-review takes its office's capacity and counts toward the
    /// queue's size (default), or comes on top of tonight's flags.
    pub re_reviews_use_capacity: bool,
    /// The share of each month's reviewed cases chosen for a second review
    /// (default 0.1).
    pub second_review_share: f64,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            review_days: 1,
            consultation_days: safeflag_review::calendar::DEFAULT_CONSULTATION_DAYS,
            holidays: Vec::new(),
            re_review_days: safeflag_review::schedule::ReReviewPolicy::default().every_days,
            re_review_until_age_months: safeflag_review::schedule::ReReviewPolicy::default()
                .until_age_months,
            re_reviews_use_capacity: true,
            second_review_share: 0.1,
        }
    }
}

impl ReviewConfig {
    /// The re-review schedule.
    pub fn schedule(&self) -> safeflag_review::schedule::ReReviewPolicy {
        safeflag_review::schedule::ReReviewPolicy {
            every_days: self.re_review_days,
            until_age_months: self.re_review_until_age_months,
        }
    }

    /// The business-day calendar: weekends and the holidays (each must be a
    /// plain date).
    pub fn calendar(&self) -> Result<safeflag_review::calendar::Calendar> {
        if !(0.0..=1.0).contains(&self.second_review_share) {
            return Err(Error::input(format!(
                "`[review] second-review-share` {} is not between 0 and 1",
                self.second_review_share
            )));
        }
        let days = self
            .holidays
            .iter()
            .map(|h| {
                h.date
                    .filter(|_| h.time.is_none())
                    .and_then(|d| {
                        chrono::NaiveDate::from_ymd_opt(d.year.into(), d.month.into(), d.day.into())
                    })
                    .ok_or_else(|| {
                        Error::input(format!(
                            "`[review] holidays`: `{h}` is not a date (YYYY-MM-DD)"
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(safeflag_review::calendar::Calendar::new(days))
    }
}

/// `[history]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HistoryConfig {
    /// The SQLite file; its lock is the same path with `.lock` appended.
    pub store: PathBuf,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            store: PathBuf::from("state/history.sqlite"),
        }
    }
}

/// `[output]`
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutputConfig {
    /// Runs go to `ROOT/runs/DATE/`.
    pub root: PathBuf,
    /// Also write every row's score as Arrow IPC (`scores.arrow`).
    pub scores_arrow: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            root: PathBuf::from("out"),
            scores_arrow: false,
        }
    }
}

impl Config {
    /// Reads, parses and checks the file; paths become relative to its directory.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("config", path, e))?;
        let mut c: Config = toml::from_str(&text).map_err(|e| {
            Error::input(format!(
                "config `{}`{}: {}",
                path.display(),
                e.span()
                    .map(|span| position(&text, span.start))
                    .unwrap_or_default(),
                e.message().trim_end()
            ))
        })?;
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let rel = |p: &Path| -> PathBuf {
            if p.is_absolute() || base.as_os_str().is_empty() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        c.input.snapshot = c
            .input
            .snapshot
            .as_deref()
            .map(|s| rel(Path::new(s)).display().to_string());
        c.input.scores = c
            .input
            .scores
            .as_deref()
            .map(|s| rel(Path::new(s)).display().to_string());
        c.input.extract = c.input.extract.as_deref().map(rel);
        c.input.mapping = c.input.mapping.as_deref().map(rel);
        c.model.dir = rel(&c.model.dir);
        c.model.prompts = c.model.prompts.as_deref().map(rel);
        c.history.store = rel(&c.history.store);
        c.output.root = rel(&c.output.root);
        c.check()
            .map_err(|e| Error::input(format!("config `{}`: {e}", path.display())))?;
        Ok(c)
    }

    fn check(&self) -> std::result::Result<(), String> {
        let fraction = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("`{name}` = {v} is not between 0 and 1"))
            }
        };
        fraction("input.max-quarantine", self.input.max_quarantine)?;
        self.policy().map_err(|e| format!("[queue] {e}"))?;
        self.monitor.check().map_err(|e| format!("[monitor] {e}"))?;
        fraction(
            "suppression.probability-rise",
            self.suppression.probability_rise,
        )?;
        if !(0..=MAX_SUPPRESSION_DAYS).contains(&self.suppression.days) {
            return Err(format!(
                "`suppression.days` = {} is not between 0 and {MAX_SUPPRESSION_DAYS}",
                self.suppression.days
            ));
        }
        if let Some(pin) = &self.model.sha256
            && !(pin.len() == 64 && pin.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err("`model.sha256` is not a sha256 (64 hex digits)".into());
        }
        // Runs must never be written among the extracts they read.
        let input_dir = match (&self.input.snapshot, &self.input.extract) {
            (Some(snapshot), None) => Path::new(snapshot)
                .parent()
                .unwrap_or(Path::new(""))
                .to_path_buf(),
            (None, Some(extract)) => extract.clone(),
            _ => {
                return Err(
                    "[input] needs exactly one of `snapshot` (a snapshot file) and `extract` (a relational extract directory)"
                        .into(),
                );
            }
        };
        if same_dir(&input_dir, &self.output.root) {
            return Err(format!(
                "`output.root` is the input's own folder `{}`; write runs elsewhere",
                self.output.root.display()
            ));
        }
        if self.export.by.is_empty() || self.export.formats.is_empty() {
            return Err("`export.by` and `export.formats` must not be empty".into());
        }
        Ok(())
    }

    /// The snapshot path for `date` (`{date}` replaced).
    pub fn snapshot(&self, date: Option<&str>) -> Result<PathBuf> {
        let s =
            self.input.snapshot.as_ref().ok_or_else(|| {
                Error::input("config: `[input]` names an extract, not a snapshot")
            })?;
        if s.contains("{date}") {
            let d = date.ok_or_else(|| {
                Error::input("config: `input.snapshot` contains {date}, so --date is required")
            })?;
            Ok(PathBuf::from(s.replace("{date}", d)))
        } else {
            Ok(PathBuf::from(s))
        }
    }

    /// Tonight's warehouse scores file, if the config names one.
    pub fn scores(&self, date: Option<&str>) -> Result<Option<PathBuf>> {
        let Some(s) = &self.input.scores else {
            return Ok(None);
        };
        if s.contains("{date}") {
            let d = date.ok_or_else(|| {
                Error::input("config: `input.scores` contains {date}, so --date is required")
            })?;
            Ok(Some(PathBuf::from(s.replace("{date}", d))))
        } else {
            Ok(Some(PathBuf::from(s)))
        }
    }

    /// The queue policy, checked.
    pub fn policy(&self) -> Result<QueuePolicy> {
        let q = &self.queue;
        queue_policy(
            q.top,
            q.top_percent,
            q.threshold,
            q.office_capacity,
            q.capacity.clone(),
        )
    }

    /// The lock file beside the store.
    pub fn lock_path(&self) -> PathBuf {
        let mut p = self.history.store.clone().into_os_string();
        p.push(".lock");
        PathBuf::from(p)
    }
}

/// The longest review-suppression window: ten years.
pub const MAX_SUPPRESSION_DAYS: i64 = 3650;

/// Whether two folders are the same, resolving what exists.
fn same_dir(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| {
        let p = if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        };
        p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
    };
    norm(a) == norm(b)
}

/// `, line L, column C` of a byte offset, for one-line errors that point
/// into a file without quoting it.
fn position(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(", line {line}, column {column}")
}

/// The queue policy of these limits (a percentage for `top_percent`), with
/// the default applied when none is given, checked by [`QueuePolicy::check`]:
/// the one way flags and the config file become a policy.
pub fn queue_policy(
    top: Option<usize>,
    top_percent: Option<f64>,
    threshold: Option<f64>,
    office_capacity: Option<usize>,
    capacities: BTreeMap<String, usize>,
) -> Result<QueuePolicy> {
    let policy = QueuePolicy {
        top_n: top,
        top_fraction: top_percent.map(|p| p / 100.0),
        threshold,
        office_capacity,
        office_capacities: capacities,
    }
    .or_default();
    policy.check()?;
    Ok(policy)
}

/// Monitor options with a PSI warning level, checked like the config's.
pub fn monitor_options(psi_warning: f64) -> Result<MonitorOptions> {
    let options = MonitorOptions {
        psi_warning,
        ..MonitorOptions::default()
    };
    options.check()?;
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    const MINIMAL: &str = "[input]\nsnapshot = \"s.csv\"\n[model]\ndir = \"m\"\n";

    #[test]
    fn review_deadlines_and_holidays() {
        let c = load(MINIMAL).unwrap();
        assert_eq!((c.review.review_days, c.review.consultation_days), (1, 1));
        let c = load(&format!(
            "{MINIMAL}[review]\nconsultation-days = 2\nholidays = [2025-12-25, 2026-01-01]\n"
        ))
        .unwrap();
        assert_eq!((c.review.review_days, c.review.consultation_days), (1, 2));
        let cal = c.review.calendar().unwrap();
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(!cal.is_business_day(d("2025-12-25")));
        assert!(cal.is_business_day(d("2025-12-24")));
        let c = load(&format!(
            "{MINIMAL}[review]\nholidays = [2025-12-25T09:00:00]\n"
        ))
        .unwrap();
        let err = c.review.calendar().unwrap_err().to_string();
        assert!(
            err.contains("`[review] holidays`") && err.contains("is not a date"),
            "{err}"
        );
        assert!(load(&format!("{MINIMAL}[review]\nholiday = []\n")).is_err());
    }

    #[test]
    fn defaults_fill_everything_but_input_and_model() {
        let c = load(MINIMAL).unwrap();
        assert_eq!(c.input.max_quarantine, 0.05);
        assert_eq!(c.suppression.days, 90);
        assert_eq!(c.policy().unwrap().top_n, Some(50));
        assert_eq!(c.export.by, vec![Recipient::Office]);
        assert!(c.history.store.ends_with("state/history.sqlite"));
        assert!(c.lock_path().ends_with("state/history.sqlite.lock"));
        assert!(!c.output.scores_arrow, "one score file unless asked");
        let c = load(&format!("{MINIMAL}[output]\nscores-arrow = true\n")).unwrap();
        assert!(c.output.scores_arrow);
        assert!(c.output.root.ends_with("out"), "the root keeps its default");
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = load(&format!("{MINIMAL}[queue]\noffice-capacty = 3\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `office-capacty`"), "{err}");
        let err = load(&format!("{MINIMAL}[surpression]\ndays = 3\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `surpression`"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        let err = load(&format!("{MINIMAL}[suppression]\nprobability-rise = 2\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("suppression.probability-rise"), "{err}");
        let err = load(&format!(
            "{MINIMAL}[export]\nby = [\"region\"]\nformats = [\"csv\"]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown variant `region`"), "{err}");
    }

    /// The config and the flags refuse the same values through the same checks.
    #[test]
    fn flags_and_config_refuse_the_same_policies() {
        /// A config line and the same limit as flags: top, top-percent, office capacity.
        type Limits<'a> = (&'a str, Option<usize>, Option<f64>, Option<usize>);
        let cases: [Limits; 3] = [
            ("top = 0", Some(0), None, None),
            ("top-percent = 0", None, Some(0.0), None),
            ("office-capacity = 0", None, None, Some(0)),
        ];
        for (line, top, pct, cap) in cases {
            let from_config = load(&format!("{MINIMAL}[queue]\n{line}\n"))
                .unwrap_err()
                .to_string();
            let from_flags = queue_policy(top, pct, None, cap, BTreeMap::new())
                .unwrap_err()
                .to_string();
            assert!(
                from_config.ends_with(&from_flags),
                "{from_config} / {from_flags}"
            );
        }
        let err = load(&format!(
            "{MINIMAL}[monitor]\nfairness-warn = [\"zodiac\"]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("`zodiac`, which is not a grouping"), "{err}");
        assert!(monitor_options(-1.0).is_err());
    }

    /// Each nonsense value is refused by name.
    #[test]
    fn nonsense_values_are_refused_by_name() {
        for (extra, want) in [
            (
                "[suppression]\ndays = 9223372036854775807\n",
                "`suppression.days`",
            ),
            ("[suppression]\ndays = -1\n", "`suppression.days`"),
            (
                "[output]\nroot = \".\"\n",
                "`output.root` is the input's own folder",
            ),
            ("[monitor]\npsi-warning = -0.1\n", "`psi-warning`"),
        ] {
            let err = load(&format!("{MINIMAL}{extra}")).unwrap_err().to_string();
            assert!(err.contains(want), "{extra}: {err}");
        }
        let err = load("[input]\nsnapshot = \"s.csv\"\n[model]\ndir = \"m\"\nsha256 = \"abc\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`model.sha256` is not a sha256"), "{err}");
    }

    #[test]
    fn a_dated_snapshot_needs_a_date() {
        let c = load("[input]\nsnapshot = \"x-{date}.csv\"\n[model]\ndir = \"m\"\n").unwrap();
        assert!(c.snapshot(None).is_err());
        assert!(
            c.snapshot(Some("2025-11-21"))
                .unwrap()
                .ends_with("x-2025-11-21.csv")
        );
    }
}
