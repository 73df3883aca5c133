//! Risk models for safeflag: training, calibration, bands, metrics, fairness,
//! and the verified model artifact.
//!
//! This crate has no dataframe dependency: it works on the
//! [`safeflag_core::FeatureMatrix`] that the feature stage builds, so the
//! numeric core can be tested and benchmarked on its own.
//!
//! # Brief overview
//! * [`estimator::fit`] trains an [`Estimator`]: L2 logistic regression
//!   by Newton steps ([`newton`], default) or gradient-boosted trees through
//!   forust-ml.
//! * [`calibration::Platt`] and [`calibration::Bands`]: calibrated
//!   probabilities on held-out cases, ventile bands 1-20 and tiers.
//! * [`metrics`], [`evaluate::evaluate`], [`fairness::audit`]: honest
//!   evaluation at the queue size and by group.
//! * [`backtest`]: a rolling-origin backtest's record and its choice by
//!   regret.
//! * [`ModelArtifact`]: save and load with a SHA-256 over the content bytes.
#![deny(missing_docs)]

pub mod artifact;
pub mod backtest;
pub mod calibration;
pub mod card;
pub mod distribution;
pub mod estimator;
pub mod evaluate;
pub mod fairness;
pub mod metrics;
pub mod newton;

pub use artifact::{FamilyResult, ModelArtifact, ModelContent, TrainingInfo};
pub use estimator::{Estimator, FeatureSet, ModelKind, TrainParams, fit, fit_with_held_out};

use std::path::PathBuf;

/// Errors of the model crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Training could not be done.
    #[error("training: {0}")]
    Train(String),
    /// Evaluation could not be done.
    #[error("evaluation: {0}")]
    Evaluate(String),
    /// A model artifact is missing, damaged or tampered with.
    #[error("model `{path}`: {message}")]
    Artifact {
        /// The model file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Writing the artifact failed.
    #[error(transparent)]
    Output(#[from] safeflag_core::output::OutputError),
}

impl safeflag_core::Kinded for Error {
    fn kind(&self) -> safeflag_core::ErrorKind {
        match self {
            // Data that cannot be trained or evaluated on, and damaged model
            // files, are the input's.
            Error::Train(_) | Error::Evaluate(_) | Error::Artifact { .. } => {
                safeflag_core::ErrorKind::Input
            }
            Error::Output(e) => safeflag_core::Kinded::kind(e),
        }
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
