//! Synthetic case snapshots for demos, tests and benchmarks, with a documented
//! ground truth.
//!
//! Real case data cannot be shipped, and a model cannot be judged without
//! knowing what it should have found. This crate generates contract data whose
//! outcome is drawn from a known risk model ([`truth`]), so the AUC of the true
//! probabilities is the ceiling for any trained model on the same rows.
//!
//! # Brief overview
//! * [`generate()`] builds [`Synthetic`] data from [`SynthParams`]: families with
//!   several children sharing household facts, nested offices, supervisors and
//!   workers, ages skewed young, realistic missing values, and repeat snapshots.
//! * [`truth`] is the ground-truth model, coefficient by coefficient.
//! * [`generate_world`] builds an agency's relational extract event by event
//!   ([`world`]), with each child's true hazard.
//! * [`messy_csv`] renders a small CSV that breaks every contract rule at
//!   known rows inside every awkward-but-valid form.
//!
//! ```
//! use safeflag_synth::{SynthParams, generate};
//! let s = generate(&SynthParams { rows: 100, seed: 1, ..SynthParams::default() });
//! assert_eq!(s.cases.height(), 100);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod generate;
pub mod messy;
pub mod truth;
pub mod world;

pub use generate::{SynthParams, Synthetic, TRUE_PROBABILITY, generate};
pub use messy::{Injected, messy_csv};
pub use truth::RiskWorld;
pub use world::{
    TruthKind, World, WorldParams, fair_probability, generate_world, true_probability,
    true_probability_of,
};
