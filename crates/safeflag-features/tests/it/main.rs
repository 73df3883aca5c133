//! Integration tests of features and splits.
//!
//! Modules:
//! * `values`: feature values on hand-built cases.
//! * `leakage`: the split guards (no case on both sides, no test row before the cut-off).

mod leakage;
mod values;
