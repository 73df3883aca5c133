//! Derived features, the feature spec, and honest train/test splits.
//!
//! This crate is the only place where validated case frames become numbers:
//! [`build_matrix`] turns cases into a [`safeflag_core::FeatureMatrix`] by
//! evaluating a [`FeatureSpec`] with plain loops over the columns
//! ([`kernel`]); [`feature_exprs`] gives the same features as polars
//! expressions, and the tests hold the two to identical values. Because the
//! spec is data and travels inside the model artifact, scoring recomputes
//! exactly the features the model was trained on.
//!
//! # Brief overview
//! * [`FeatureSpec::standard`]: age bands, unsafe sleep and its interaction
//!   with infancy, young caregiver, log-scaled counts, capped visit gap,
//!   missing-value indicators and one-hot codes. Never race/ethnicity.
//! * [`shaped_spec`]: the standard features with piecewise-linear shapes
//!   of age, visit gap, caregiver age and counts (knots from the training
//!   rows), and household items that weigh differently by case type.
//! * [`raw_spec`]: for boosted trees, each number as a number (a tree finds
//!   its own thresholds) beside the codes and missing indicators.
//! * [`build_matrix`], [`labels`], [`age_bands`]: frame to model inputs.
//! * [`split()`]: by time (default) or by case, never splitting a case.
#![deny(missing_docs)]

pub mod build;
pub mod kernel;
pub mod shapes;
pub mod split;

pub use build::{
    AGE_BANDS, age_band, age_band_index, age_band_names, age_bands, age_days, build_matrix,
    build_matrix_with_polars, feature_exprs, labels, text_column,
};
pub use kernel::{ages_in_days, input_values};
pub use safeflag_core::feature_spec::{FeatureDef, FeatureSpec, Transform};
pub use shapes::{raw_spec, shaped_spec};
pub use split::{Split, SplitPlan, case_hash, partition_by_case, split};

/// Errors of the feature stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The spec cannot be applied to these cases.
    #[error("feature spec: {0}")]
    Spec(String),
    /// The split cannot be made.
    #[error("split: {0}")]
    Split(String),
    /// An unexpected failure inside the dataframe engine.
    #[error("internal error in the dataframe engine: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
}

impl safeflag_core::Kinded for Error {
    fn kind(&self) -> safeflag_core::ErrorKind {
        match self {
            // A spec the cases cannot satisfy, a split the data cannot make:
            // the input's (a model file or the data), not a bug.
            Error::Spec(_) | Error::Split(_) => safeflag_core::ErrorKind::Input,
            Error::Polars(_) => safeflag_core::ErrorKind::Internal,
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
