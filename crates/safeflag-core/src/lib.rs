//! Shared ground for every safeflag stage: the case data contract as data, and
//! atomic owner-only output.
//!
//! # Brief overview
//! * [`contract`]: the canonical columns ([`contract::COLUMNS`]), their codes and
//!   the [`contract::Rule`]s a row can break.
//! * [`output`]: [`output::write_atomic`], the one way safeflag writes a file.
//!
//! This crate has no polars dependency on purpose: the contract is plain data
//! that the model and report crates can read without the dataframe engine.
#![deny(missing_docs)]

pub mod contract;
pub mod output;
