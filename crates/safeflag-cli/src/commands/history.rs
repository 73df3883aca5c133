//! The history commands: `reviews import`, `runs` and `history CASE`.

use safeflag_pipeline::night::{case_history, import_reviews as import, runs as recorded_runs};
use safeflag_pipeline::reports::{CaseHistoryJson, RunsJson};
use safeflag_pipeline::{Config, Result};

use crate::cli::{HistoryArgs, ReviewsImportArgs, ReviewsReportArgs, RunsArgs};
use crate::printer::Printer;

pub fn import_reviews(args: ReviewsImportArgs, printer: &Printer) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let is_workbook = args
        .file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_workbook {
        let instrument = match &args.instrument {
            Some(path) => safeflag_review::Instrument::from_path(path)?,
            None => safeflag_review::Instrument::for_model_dir(&cfg.model.dir)?,
        };
        let done = safeflag_pipeline::night::import_workbook(&cfg, &args.file, &instrument)?;
        if args.json {
            return printer.json(&done);
        }
        let r = &done.recorded;
        printer.data(&format!(
            "recorded {} from {} {} (run {} of {}, instrument {}) into {}\n  reviews: {} new, {} changed (kept beside the earlier answers), {} unchanged\n  actions: {} new, {} changed, {} unchanged\n",
            args.file.display(),
            done.by,
            done.recipient,
            done.run_id,
            done.run_date,
            done.instrument,
            cfg.history.store.display(),
            r.reviews_new,
            r.reviews_changed,
            r.reviews_unchanged,
            r.actions_new,
            r.actions_changed,
            r.actions_unchanged,
        ));
        return Ok(());
    }
    let n = import(&cfg, &args.file)?;
    printer.data(&format!(
        "imported {n} reviews from {} into {}\n",
        args.file.display(),
        cfg.history.store.display()
    ));
    Ok(())
}

pub fn runs(args: RunsArgs, printer: &Printer) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let runs = recorded_runs(&cfg)?;
    if args.json {
        return printer.json(&RunsJson::of(runs));
    }
    let mut s = format!(
        "{:<10} {:<24} {:<11} {:>9} {:>9} {:>7} {:>6} {:>10}\n",
        "date", "run", "status", "rows", "quarant.", "cases", "queued", "suppressed"
    );
    for r in &runs {
        s.push_str(&format!(
            "{:<10} {:<24} {:<11} {:>9} {:>9} {:>7} {:>6} {:>10}\n",
            r.run_date,
            r.run_id,
            r.status,
            r.rows_read,
            r.rows_quarantined,
            r.cases_scored,
            r.cases_queued,
            r.cases_suppressed
        ));
    }
    if runs.is_empty() {
        s.push_str("(no runs yet)\n");
    }
    printer.data(&s);
    Ok(())
}

pub fn history(args: HistoryArgs, printer: &Printer) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let h = case_history(&cfg, &args.case_id)?;
    if args.json {
        return printer.json(&CaseHistoryJson::of(&args.case_id, h));
    }
    let safeflag_history::store::CaseHistory {
        flags,
        suppressed,
        reviews,
    } = h;
    let mut s = format!("case {}\n", args.case_id);
    section(&mut s, "flags", "never queued", &flags, |f| {
        format!(
            "{}  rank {:>3}  {:>5.1}%  band {:>2} {:<6}  {:<10} {}{}",
            f.run_date,
            f.rank,
            f.probability * 100.0,
            f.band,
            f.tier,
            f.status,
            f.reasons,
            if f.changes.is_empty() {
                String::new()
            } else {
                format!("  [{}]", f.changes)
            }
        )
    });
    section(
        &mut s,
        "suppressed after review",
        "none",
        &suppressed,
        |(d, r)| {
            format!(
                "{d}  {:>5.1}%  reviewed {}",
                r.probability * 100.0,
                r.reviewed_on
            )
        },
    );
    section(&mut s, "reviews", "none", &reviews, |r| {
        format!(
            "{}  {:<12} {:<12} {}",
            r.review_date,
            r.reviewer,
            r.outcome,
            r.override_reason.as_deref().unwrap_or("")
        )
    });
    printer.data(&s);
    Ok(())
}

/// A titled list of lines, or `empty` when there are none.
fn section<T>(s: &mut String, title: &str, empty: &str, items: &[T], line: impl Fn(&T) -> String) {
    s.push_str(&format!("\n{title}\n"));
    if items.is_empty() {
        s.push_str(&format!("  {empty}\n"));
    }
    for item in items {
        s.push_str(&format!("  {}\n", line(item)));
    }
}

pub fn reviews_report(args: ReviewsReportArgs, printer: &Printer) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let m = safeflag_pipeline::night::practice_measures(&cfg, args.from, args.to, args.as_of)?;
    if args.json {
        return printer.json(&m);
    }
    let pct = |n: usize, of: usize| {
        if of == 0 {
            "-".to_string()
        } else {
            format!("{:.0}%", 100.0 * n as f64 / of as f64)
        }
    };
    let mut s = format!(
        "practice measures, nights {} to {}, as of {} ({} business day(s) to review, {} to consult)\n\n",
        m.from, m.to, m.as_of, cfg.review.review_days, cfg.review.consultation_days
    );
    s.push_str(&format!(
        "{:<24} {:>8} {:>9} {:>8} {:>8} {:>8}\n",
        "flagged cases", "flagged", "reviewed", "on time", "share", "pending"
    ));
    let mut flag_line = |name: &str, c: &safeflag_history::measures::FlagCounts| {
        s.push_str(&format!(
            "{:<24} {:>8} {:>9} {:>8} {:>8} {:>8}\n",
            crate::tables::fit(name, 24),
            c.flagged,
            c.reviewed,
            c.reviewed_on_time,
            pct(c.reviewed_on_time, c.flagged - c.pending),
            c.pending
        ));
    };
    flag_line("all offices", &m.flags);
    for (office, c) in &m.flags_by_office {
        flag_line(office, c);
    }
    let c = &m.consultations;
    s.push_str(&format!(
        "\nconsultations: {} reviews, {} with a consultation, {} within the deadline ({})\n",
        c.reviews,
        c.consulted,
        c.within_deadline,
        pct(c.within_deadline, c.consulted)
    ));
    let a = &m.actions;
    s.push_str(&format!(
        "action items: {} in all; {} open ({} overdue), {} done on time, {} done late, {} dropped\n",
        a.total, a.open, a.overdue, a.done_on_time, a.done_late, a.dropped
    ));
    s.push_str(&format!(
        "\n{:<24} {:>8} {:>10} {:>8}\n",
        "overrides", "reviews", "overrides", "share"
    ));
    let mut line = |name: &str, c: &safeflag_history::measures::OverrideCounts| {
        s.push_str(&format!(
            "{:<24} {:>8} {:>10} {:>8}\n",
            crate::tables::fit(name, 24),
            c.reviews,
            c.overrides,
            pct(c.overrides, c.reviews)
        ));
    };
    line("all", &m.overrides);
    for (r, c) in &m.overrides_by_reviewer {
        line(&format!("reviewer {r}"), c);
    }
    for (o, c) in &m.overrides_by_office {
        line(&format!("office {o}"), c);
    }
    for (g, c) in &m.overrides_by_group {
        line(&format!("group {g}"), c);
    }
    let r = &m.second_reviews;
    s.push_str(&format!(
        "\nsecond reviews ({:.0}% of each month's cases): {} sampled, {} reviewed again, same disposition {} ({}), items agreed {} of {} ({}); {} waiting\n",
        100.0 * r.share,
        r.sampled,
        r.second_done,
        r.same_disposition,
        pct(r.same_disposition, r.second_done),
        r.items_agreed,
        r.items_compared,
        pct(r.items_agreed, r.items_compared),
        r.waiting.len()
    ));
    // Item ratings, all offices together (by office and month in --json),
    // and how they moved from one review of a case to the next.
    let items = m.ratings_by_item();
    if !items.is_empty() {
        s.push_str("\nitem ratings (by office and month: --json)\n");
        for (item, ratings) in &items {
            let counts: Vec<String> = ratings.iter().map(|(r, n)| format!("{r} {n}")).collect();
            s.push_str(&format!(
                "  {:<28} {}\n",
                crate::tables::fit(item, 28),
                counts.join(", ")
            ));
            if let Some(moves) = m.rating_changes.get(*item) {
                let moves: Vec<String> = moves.iter().map(|(k, n)| format!("{k}: {n}")).collect();
                s.push_str(&format!(
                    "  {:<28} at re-review: {}\n",
                    "",
                    moves.join(", ")
                ));
            }
        }
    }
    printer.data(&s);
    Ok(())
}
