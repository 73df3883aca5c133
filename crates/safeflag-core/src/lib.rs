//! Shared ground for every safeflag stage: the case data contract as data, and
//! atomic owner-only output.
//!
//! # Brief overview
//! * [`contract`]: the canonical columns ([`contract::COLUMNS`]), their codes and
//!   the [`contract::Rule`]s a row can break; a snapshot is one
//!   [`contract::TableSpec`].
//! * [`extract_contract`]: the eight tables of an agency's relational extract,
//!   each with its knowledge date.
//! * [`outcome_contract`]: the outcomes file (incidents, reports, removals
//!   with the days they happened and were recorded) that past queues are
//!   judged by.
//! * [`error`]: [`error::ErrorKind`], whose fault a failure is, and the
//!   [`error::Kinded`] trait every library error implements.
//! * [`output`]: [`output::write_atomic`], the one way safeflag writes a file.
//! * [`FeatureMatrix`]: the numeric hand-off from the feature stage to models.
//! * [`FeatureSpec`]: features as data, saved inside every model artifact.
//! * [`keys`]: exact grouping of millions of rows by key (duplicates,
//!   distinct counts) by sorting hashes, in parallel; and the set of a
//!   table's keys that references are checked against ([`keys::KnownKeys`]).
//!
//! This crate has no polars dependency on purpose: the contract and the
//! feature matrix are plain data that the model crate uses without the
//! dataframe engine.
#![deny(missing_docs)]

pub mod contract;
pub mod days;
pub mod error;
pub mod extract_contract;
pub mod fault;
pub mod feature_spec;
pub mod keys;
pub mod matrix;
pub mod outcome_contract;
pub mod output;

pub use error::{ErrorKind, Kinded};
pub use feature_spec::{FeatureDef, FeatureSpec, Transform};
pub use matrix::FeatureMatrix;
