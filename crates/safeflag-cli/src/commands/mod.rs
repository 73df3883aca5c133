//! One module per subcommand (the history commands share one, the review
//! commands another); each
//! resolves its arguments, calls the pipeline and prints the result.

pub mod backtest;
pub mod compare;
pub mod evaluate;
pub mod explain;
pub mod generate;
pub mod history;
pub mod model;
pub mod nightly;
pub mod outcomes;
pub mod report;
pub mod reviews;
pub mod score;
pub mod shell;
pub mod snapshot;
pub mod train;
pub mod validate;
