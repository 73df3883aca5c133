//! The progress bar: the pipeline reports stages and, while scoring, rows;
//! this draws them on stderr when it is a terminal (and draws nothing in
//! batch). Log lines written while a bar is drawn go through it
//! ([`LogWriter`]), so they print above the bar instead of over it.

use std::sync::Mutex;

use safeflag_pipeline::Progress;

/// The bar being drawn, if any: where log lines go.
static ACTIVE: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// The bar's style while stages run: the stage and its number.
const STAGES: &str = "{elapsed:>4} {spinner} {msg}";
/// While rows are scored: rows done, of all, and the time left at this pace.
const ROWS: &str = "{elapsed:>4} [{bar:20}] {human_pos}/{human_len} rows scored, {eta} left";

/// An indicatif bar behind the pipeline's [`Progress`].
pub struct Bar {
    bar: indicatif::ProgressBar,
    stages: Mutex<(u64, u64, String)>,
}

impl Bar {
    /// A bar on stderr when `wanted` and stderr is a terminal; hidden otherwise.
    pub fn new(wanted: bool) -> Bar {
        use std::io::IsTerminal;
        if !wanted || !std::io::stderr().is_terminal() {
            return Bar::on(indicatif::ProgressBar::hidden());
        }
        Bar::on(indicatif::ProgressBar::new(0))
    }

    fn on(bar: indicatif::ProgressBar) -> Bar {
        bar.set_style(style(STAGES));
        Bar {
            bar,
            stages: Mutex::new((0, 0, String::new())),
        }
    }

    fn show_stage(&self) {
        let s = self.stages.lock().unwrap_or_else(|e| e.into_inner());
        self.bar.set_style(style(STAGES));
        self.bar
            .set_message(format!("stage {}/{}: {}", (s.0 + 1).min(s.1), s.1, s.2));
    }
}

fn style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Progress for Bar {
    fn start(&self, stages: u64) {
        self.stages.lock().unwrap_or_else(|e| e.into_inner()).1 = stages;
        if !self.bar.is_hidden() {
            self.bar
                .enable_steady_tick(std::time::Duration::from_millis(200));
            *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(self.bar.clone());
        }
    }
    fn stage(&self, name: &str) {
        self.stages.lock().unwrap_or_else(|e| e.into_inner()).2 = name.to_string();
        self.show_stage();
    }
    fn done(&self) {
        self.stages.lock().unwrap_or_else(|e| e.into_inner()).0 += 1;
    }
    fn rows(&self, scored: u64, of: u64) {
        if self.bar.length() != Some(of) {
            self.bar.set_style(style(ROWS));
            self.bar.set_length(of);
            self.bar.reset_eta();
        }
        self.bar.set_position(scored);
    }
    fn finish(&self) {
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.bar.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Where log lines go: one buffer per event, written to stderr when the
/// event is done, with the bar (if one is drawn) cleared for the line and
/// drawn again below it.
pub struct LogWriter(Vec<u8>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let line = std::mem::take(&mut self.0);
        let write = || {
            use std::io::Write as _;
            let _ = std::io::stderr().lock().write_all(&line);
        };
        match ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

/// The tracing writer: a [`LogWriter`] per event.
pub fn log_writer() -> LogWriter {
    LogWriter(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_set_the_bar_to_rows_and_stages_count_up() {
        let bar = Bar::on(indicatif::ProgressBar::hidden());
        bar.start(6);
        bar.stage("read and validate");
        assert_eq!(bar.bar.message(), "stage 1/6: read and validate");
        bar.done();
        bar.stage("features and scores");
        assert_eq!(bar.bar.message(), "stage 2/6: features and scores");
        bar.rows(1_000, 5_000);
        assert_eq!((bar.bar.position(), bar.bar.length()), (1_000, Some(5_000)));
        bar.rows(5_000, 5_000);
        assert_eq!(bar.bar.position(), 5_000);
        bar.done();
        bar.stage("queue");
        assert_eq!(bar.bar.message(), "stage 3/6: queue");
    }
}
