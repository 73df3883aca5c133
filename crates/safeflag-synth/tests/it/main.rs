//! Integration tests of the synthetic generator.
//!
//! Modules:
//! * `messy`: the messy CSV is quarantined at exactly its injected rows.
//! * `realism`: the generated population matches the documented design.

mod messy;
mod realism;
