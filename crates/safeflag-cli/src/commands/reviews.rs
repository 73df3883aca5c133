//! The review commands: `reviews import` (a returned workbook, or CSV) and
//! `reviews report` (the practice measures).

use safeflag_pipeline::night::{import_reviews as import, import_workbook, practice_measures};
use safeflag_pipeline::{Config, Result};

use crate::cli::{ReviewsImportArgs, ReviewsReportArgs};
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
        let done = import_workbook(&cfg, &args.file, &instrument)?;
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

pub fn reviews_report(args: ReviewsReportArgs, printer: &Printer) -> Result<()> {
    let cfg = Config::load(&args.config)?;
    let m = practice_measures(&cfg, args.from, args.to, args.as_of)?;
    if args.json {
        return printer.json(&m);
    }
    printer.data(&crate::tables::practice_table(
        &m,
        cfg.review.review_days,
        cfg.review.consultation_days,
    ));
    Ok(())
}
