//! The feature matrix: the one hand-off from dataframes to models.

use ndarray::{Array2, ArrayView1};

/// Rows are cases' children, columns are features, stored column-major
/// (Fortran order) so each feature is one contiguous slice: building it from
/// a columnar frame is a copy per column, and gradient-boosting libraries
/// that take column-major data read it without another copy.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    x: Array2<f64>,
    names: Vec<String>,
}

impl FeatureMatrix {
    /// Builds a matrix from equal-length feature columns.
    ///
    /// # Panics
    /// When the columns differ in length or do not match `names`.
    pub fn from_columns(names: Vec<String>, columns: Vec<Vec<f64>>) -> FeatureMatrix {
        assert_eq!(names.len(), columns.len(), "one name per column");
        let rows = columns.first().map_or(0, Vec::len);
        assert!(
            columns.iter().all(|c| c.len() == rows),
            "columns of one length"
        );
        let cols = columns.len();
        let data: Vec<f64> = columns.into_iter().flatten().collect();
        let x = Array2::from_shape_vec(ndarray::ShapeBuilder::f((rows, cols)), data)
            .expect("shape checked");
        FeatureMatrix { x, names }
    }

    /// Builds a matrix from one column-major buffer (`rows` values of the
    /// first feature, then the second, ...), without copying it.
    ///
    /// # Panics
    /// When `data.len() != rows * names.len()`.
    pub fn from_column_major(names: Vec<String>, rows: usize, data: Vec<f64>) -> FeatureMatrix {
        let cols = names.len();
        let x = Array2::from_shape_vec(ndarray::ShapeBuilder::f((rows, cols)), data)
            .expect("rows x features values");
        FeatureMatrix { x, names }
    }

    /// The matrix (rows x features), column-major.
    pub fn x(&self) -> &Array2<f64> {
        &self.x
    }

    /// Feature names, in column order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.x.nrows()
    }

    /// Number of features.
    pub fn cols(&self) -> usize {
        self.x.ncols()
    }

    /// One feature's values.
    pub fn column(&self, j: usize) -> ArrayView1<'_, f64> {
        self.x.column(j)
    }

    /// The whole matrix as one column-major slice.
    pub fn column_major(&self) -> &[f64] {
        self.x.as_slice_memory_order().expect("built contiguous")
    }

    /// The rows at `idx`, in that order.
    pub fn take_rows(&self, idx: &[usize]) -> FeatureMatrix {
        let columns = (0..self.cols())
            .map(|j| {
                let c = self.x.column(j);
                idx.iter().map(|&i| c[i]).collect()
            })
            .collect();
        FeatureMatrix::from_columns(self.names.clone(), columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_contiguous_and_rows_can_be_taken() {
        let m = FeatureMatrix::from_columns(
            vec!["a".into(), "b".into()],
            vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]],
        );
        assert_eq!(m.column_major(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(m.x()[[1, 1]], 5.0);
        let t = m.take_rows(&[2, 0]);
        assert_eq!(t.column_major(), &[3.0, 1.0, 6.0, 4.0]);
    }

    fn has_autotraits<T: Send + Sync>() {}

    #[test]
    fn crosses_threads() {
        has_autotraits::<FeatureMatrix>();
    }
}
