//! Knots for the shaped feature spec, chosen from the training rows.
//!
//! Risk is not linear in age, the visit gap or the counts: infant risk peaks
//! at two to three months, a visit gap matters only once it is long, and
//! risk does not keep rising with every removal. A piecewise-linear shape
//! with knots where the data are (and where the incidents are) learns those
//! bends while every piece stays a readable number. Knots are chosen from
//! the training rows only, so the test rows never shape the model.

use polars::prelude::DataFrame;
use safeflag_core::feature_spec::{FeatureSpec, SHAPED_INPUTS, raw_inputs};

use crate::Result;
use crate::kernel::input_values;

/// Quantiles of the rows with an incident that become knots: the shape is
/// bent most where the incidents are (for age, every few weeks of the first
/// months).
const EVENT_QUANTILES: [f64; 10] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
/// Quantiles of all rows that become knots: the shape is still bent where
/// most children are.
const ROW_QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];
/// The quantile of all rows where every shape goes flat: high enough that
/// the long tail (the longest visit gaps, the most removals) still bends,
/// low enough that a handful of extreme values cannot place it.
const FLAT_FROM: f64 = 0.999;

/// The shaped spec ([`FeatureSpec::shaped`]) with knots chosen from `rows`
/// of `cases` and their labels `y` (one per row of `cases`).
pub fn shaped_spec(cases: &DataFrame, rows: &[usize], y: &[bool]) -> Result<FeatureSpec> {
    let mut shapes = Vec::new();
    for shape in &SHAPED_INPUTS {
        let input = shape.input();
        let values = input_values(cases, &input)?;
        shapes.push((input, knots(&values, rows, y)));
    }
    Ok(FeatureSpec::shaped(&shapes))
}

/// The raw spec ([`FeatureSpec::raw`]) with each number's range taken from
/// `rows` of `cases`: from its lowest value to where it goes flat.
pub fn raw_spec(cases: &DataFrame, rows: &[usize]) -> Result<FeatureSpec> {
    let mut ranges = Vec::new();
    for shape in raw_inputs() {
        let input = shape.input();
        let values = input_values(cases, &input)?;
        if let Some((from, to)) = range(&values, rows) {
            ranges.push((input, from, to));
        }
    }
    Ok(FeatureSpec::raw(&ranges))
}

/// The whole-number range of one input over `rows`: its lowest value, and
/// the quantile where shapes go flat; `None` when they are not apart.
pub fn range(values: &[Option<f64>], rows: &[usize]) -> Option<(f64, f64)> {
    let mut all: Vec<f64> = rows
        .iter()
        .filter_map(|&i| values[i])
        .filter(|v| v.is_finite())
        .collect();
    if all.is_empty() {
        return None;
    }
    all.sort_by(f64::total_cmp);
    let from = all[0].floor();
    let to = all[((all.len() - 1) as f64 * FLAT_FROM).round() as usize].round();
    (from < to).then_some((from, to))
}

/// The knots of one input over `rows`: whole numbers, sorted, distinct, the
/// last where the shape goes flat; empty when the input has too few values.
pub fn knots(values: &[Option<f64>], rows: &[usize], y: &[bool]) -> Vec<f64> {
    let mut all: Vec<f64> = rows.iter().filter_map(|&i| values[i]).collect();
    let mut events: Vec<f64> = rows
        .iter()
        .filter(|&&i| y[i])
        .filter_map(|&i| values[i])
        .collect();
    if all.is_empty() {
        return Vec::new();
    }
    all.sort_by(f64::total_cmp);
    events.sort_by(f64::total_cmp);
    let at = |sorted: &[f64], q: f64| -> f64 {
        let i = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[i].round()
    };
    let to = at(&all, FLAT_FROM);
    let mut k: Vec<f64> = ROW_QUANTILES.iter().map(|&q| at(&all, q)).collect();
    if !events.is_empty() {
        k.extend(EVENT_QUANTILES.iter().map(|&q| at(&events, q)));
    }
    k.retain(|&v| v < to && v.is_finite());
    k.push(to);
    k.sort_by(f64::total_cmp);
    k.dedup();
    if k.len() < 2 { Vec::new() } else { k }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knots_are_sorted_whole_and_end_where_the_shape_goes_flat() {
        // 1,000 rows valued 0..999 (plus 0.4); incidents on the first 100.
        let values: Vec<Option<f64>> = (0..1000).map(|v| Some(f64::from(v) + 0.4)).collect();
        let y: Vec<bool> = (0..1000).map(|i| i < 100).collect();
        let rows: Vec<usize> = (0..1000).collect();
        let k = knots(&values, &rows, &y);
        // The incidents' deciles by nearest rank (row round(99 q) of the
        // 100: 0, 10, 20, 30, 40, 50, 59, 69, 79, 89), the rows' quantiles
        // (50, 250, 500, 749, 949), flat from the 99.9th (998); values x.4
        // rounded.
        let want = vec![
            0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 59.0, 69.0, 79.0, 89.0, 250.0, 500.0, 749.0, 949.0,
            998.0,
        ];
        assert_eq!(k, want);
        // Only the rows given count: the other half's values never become knots.
        let half: Vec<usize> = (0..500).collect();
        assert!(knots(&values, &half, &y).iter().all(|&v| v < 500.0));
        // One value only: no shape.
        let flat = vec![Some(3.0); 10];
        assert!(knots(&flat, &(0..10).collect::<Vec<_>>(), &[false; 10]).is_empty());
    }

    #[test]
    fn a_range_runs_from_the_lowest_value_to_where_shapes_go_flat() {
        // 0.4, 1.4, ..., 999.4, a missing value and an infinity.
        let mut values: Vec<Option<f64>> = (0..1000).map(|v| Some(f64::from(v) + 0.4)).collect();
        values.push(None);
        values.push(Some(f64::INFINITY));
        let rows: Vec<usize> = (0..values.len()).collect();
        // The lowest value rounded down; the 99.9% quantile by nearest rank
        // (row round(999 x 0.999) = 998 of 1,000) rounded.
        assert_eq!(range(&values, &rows), Some((0.0, 998.0)));
        // Only the rows given count.
        assert_eq!(range(&values, &[500, 600, 700]), Some((500.0, 700.0)));
        // One value, or none: no range.
        assert_eq!(range(&values, &[3, 3]), None);
        assert_eq!(range(&values, &[1000]), None);
    }
}
