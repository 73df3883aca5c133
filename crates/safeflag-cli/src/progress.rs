//! The progress bar: the pipeline reports stages, this draws them on stderr
//! when it is a terminal (and draws nothing in batch).

use safeflag_pipeline::Progress;

/// An indicatif bar behind the pipeline's [`Progress`].
pub struct Bar(indicatif::ProgressBar);

impl Bar {
    /// A bar on stderr when `wanted` and stderr is a terminal; hidden otherwise.
    pub fn new(wanted: bool) -> Bar {
        use std::io::IsTerminal;
        if !wanted || !std::io::stderr().is_terminal() {
            return Bar(indicatif::ProgressBar::hidden());
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:24}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Bar(bar)
    }
}

impl Progress for Bar {
    fn start(&self, stages: u64) {
        self.0.set_length(stages);
        if !self.0.is_hidden() {
            self.0
                .enable_steady_tick(std::time::Duration::from_millis(200));
        }
    }
    fn stage(&self, name: &str) {
        self.0.set_message(name.to_string());
    }
    fn done(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
