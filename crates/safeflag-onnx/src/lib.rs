//! The model as an ONNX graph: the feature matrix in, the calibrated
//! probability out, for databases and runtimes that run ONNX.
//!
//! The graph takes `features`, a `double [N, F]` matrix in the model's
//! feature order (the feature spec, written beside the graph, says how each
//! column is computed from the contract), and gives `log_odds` and
//! `probability`, both `double [N, 1]`. The logistic model is
//! `MatMul + Add`; gradient boosting is one `ai.onnx.ml` `TreeEnsembleRegressor`
//! with its split values and leaf weights as double tensors (opset 3), so a
//! split is not rounded to a float. Calibration is `Sigmoid(a * z + b)`.
//! Operator sets: ONNX 13 and ONNX-ML 3, which runtimes from onnxruntime
//! 1.12 (2022) on load.
//!
//! The protobuf is written here by hand: the graph uses a dozen message
//! fields, and the crates that carry ONNX's whole schema need `protoc` or
//! pull a large generated tree into the build for them (docs/decisions.md).
#![deny(missing_docs)]

use safeflag_model::{Estimator, ModelArtifact};

/// Errors of writing a model as ONNX.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model cannot be written as ONNX.
    #[error("the model cannot be written as ONNX: {0}")]
    Model(String),
}

impl safeflag_core::Kinded for Error {
    fn kind(&self) -> safeflag_core::ErrorKind {
        safeflag_core::ErrorKind::Input
    }
}

/// ONNX's IR version written (ONNX 1.8).
pub const IR_VERSION: i64 = 7;
/// The default operator set's version.
pub const OPSET: i64 = 13;
/// The ONNX-ML operator set's version (double thresholds and weights).
pub const ML_OPSET: i64 = 3;

/// `TensorProto.DataType.DOUBLE`.
const DOUBLE: i64 = 11;

/// A protobuf message being written.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from(field << 3 | wire));
    }

    fn int(&mut self, field: u32, v: i64) -> &mut Msg {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    fn bytes(&mut self, field: u32, v: &[u8]) -> &mut Msg {
        self.key(field, 2);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    fn text(&mut self, field: u32, v: &str) -> &mut Msg {
        self.bytes(field, v.as_bytes())
    }

    fn msg(&mut self, field: u32, m: &Msg) -> &mut Msg {
        self.bytes(field, &m.0)
    }
}

/// `TensorProto` of doubles.
fn tensor(name: &str, dims: &[i64], values: &[f64]) -> Msg {
    let mut t = Msg::default();
    for &d in dims {
        t.int(1, d);
    }
    t.int(2, DOUBLE);
    t.text(8, name);
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

/// `ValueInfoProto` of a double tensor; a `None` dimension is the row count.
fn value_info(name: &str, elem: i64, dims: &[Option<i64>]) -> Msg {
    let mut shape = Msg::default();
    for d in dims {
        let mut dim = Msg::default();
        match d {
            Some(v) => dim.int(1, *v),
            None => dim.text(2, "N"),
        };
        shape.msg(1, &dim);
    }
    let mut tensor_type = Msg::default();
    tensor_type.int(1, elem).msg(2, &shape);
    let mut ty = Msg::default();
    ty.msg(1, &tensor_type);
    let mut v = Msg::default();
    v.text(1, name).msg(2, &ty);
    v
}

/// An attribute (`AttributeProto`) of a node.
enum Attr<'a> {
    Int(i64),
    Text(&'a str),
    Ints(Vec<i64>),
    Texts(Vec<&'a str>),
    Tensor(Msg),
}

fn attribute(name: &str, a: Attr) -> Msg {
    let mut m = Msg::default();
    m.text(1, name);
    match a {
        Attr::Int(v) => {
            m.int(3, v).int(20, 2);
        }
        Attr::Text(v) => {
            m.text(4, v).int(20, 3);
        }
        Attr::Tensor(t) => {
            m.msg(5, &t).int(20, 4);
        }
        Attr::Ints(v) => {
            for x in v {
                m.int(8, x);
            }
            m.int(20, 7);
        }
        Attr::Texts(v) => {
            for x in v {
                m.text(9, x);
            }
            m.int(20, 8);
        }
    }
    m
}

fn node(op: &str, domain: &str, inputs: &[&str], output: &str, attrs: Vec<Msg>) -> Msg {
    let mut n = Msg::default();
    for i in inputs {
        n.text(1, i);
    }
    n.text(2, output).text(3, output).text(4, op);
    for a in &attrs {
        n.msg(5, a);
    }
    if !domain.is_empty() {
        n.text(7, domain);
    }
    n
}

/// The ONNX model's bytes.
pub fn to_onnx(model: &ModelArtifact) -> Result<Vec<u8>, Error> {
    let c = &model.content;
    let f = c.feature_spec.features.len() as i64;
    let mut graph = Msg::default();
    let mut initializers = Vec::new();
    match &c.estimator {
        Estimator::Logistic(m) => {
            if m.weights.len() as i64 != f {
                return Err(Error::Model("weights and features differ in number".into()));
            }
            initializers.push(tensor("weights", &[f, 1], &m.weights));
            initializers.push(tensor("intercept", &[1], &[m.intercept]));
            graph.msg(
                1,
                &node("MatMul", "", &["features", "weights"], "z0", vec![]),
            );
            graph.msg(
                1,
                &node("Add", "", &["z0", "intercept"], "log_odds", vec![]),
            );
        }
        Estimator::Gbm(m) => {
            let b = &m.booster;
            if b.prediction_iteration.is_some_and(|i| i != b.trees.len()) {
                return Err(Error::Model(
                    "the booster predicts with fewer trees than it holds".into(),
                ));
            }
            let mut e = Ensemble::default();
            for (t, tree) in b.trees.iter().enumerate() {
                e.add(t as i64, tree, f)?;
            }
            let attrs = vec![
                attribute("n_targets", Attr::Int(1)),
                attribute("aggregate_function", Attr::Text("SUM")),
                attribute("post_transform", Attr::Text("NONE")),
                attribute(
                    "base_values_as_tensor",
                    Attr::Tensor(tensor("", &[1], &[b.base_score])),
                ),
                attribute("nodes_treeids", Attr::Ints(e.tree)),
                attribute("nodes_nodeids", Attr::Ints(e.node)),
                attribute("nodes_featureids", Attr::Ints(e.feature)),
                attribute("nodes_modes", Attr::Texts(e.mode)),
                attribute(
                    "nodes_values_as_tensor",
                    Attr::Tensor(tensor("", &[e.value.len() as i64], &e.value)),
                ),
                attribute("nodes_truenodeids", Attr::Ints(e.true_node)),
                attribute("nodes_falsenodeids", Attr::Ints(e.false_node)),
                attribute("nodes_missing_value_tracks_true", Attr::Ints(e.missing)),
                attribute("target_treeids", Attr::Ints(e.leaf_tree)),
                attribute("target_nodeids", Attr::Ints(e.leaf_node)),
                attribute("target_ids", Attr::Ints(vec![0; e.leaf_weight.len()])),
                attribute(
                    "target_weights_as_tensor",
                    Attr::Tensor(tensor("", &[e.leaf_weight.len() as i64], &e.leaf_weight)),
                ),
            ];
            graph.msg(
                1,
                &node(
                    "TreeEnsembleRegressor",
                    "ai.onnx.ml",
                    &["features"],
                    "z_float",
                    attrs,
                ),
            );
            // The regressor's output is a float tensor whatever it sums in.
            graph.msg(
                1,
                &node(
                    "Cast",
                    "",
                    &["z_float"],
                    "log_odds",
                    vec![attribute("to", Attr::Int(DOUBLE))],
                ),
            );
        }
    }
    initializers.push(tensor("platt_a", &[1], &[c.calibration.a]));
    initializers.push(tensor("platt_b", &[1], &[c.calibration.b]));
    graph.msg(
        1,
        &node("Mul", "", &["log_odds", "platt_a"], "scaled", vec![]),
    );
    graph.msg(
        1,
        &node("Add", "", &["scaled", "platt_b"], "shifted", vec![]),
    );
    graph.msg(1, &node("Sigmoid", "", &["shifted"], "probability", vec![]));
    graph.text(2, &format!("safeflag {}", model.id()));
    for t in &initializers {
        graph.msg(5, t);
    }
    graph.msg(11, &value_info("features", DOUBLE, &[None, Some(f)]));
    graph.msg(12, &value_info("log_odds", DOUBLE, &[None, Some(1)]));
    graph.msg(12, &value_info("probability", DOUBLE, &[None, Some(1)]));

    let mut out = Msg::default();
    out.int(1, IR_VERSION)
        .text(2, "safeflag")
        .text(3, env!("CARGO_PKG_VERSION"))
        .text(
            6,
            &format!("{} ({})", model.id(), c.estimator.kind().as_str()),
        )
        .msg(7, &graph);
    let mut opset = Msg::default();
    opset.text(1, "").int(2, OPSET);
    out.msg(8, &opset);
    let mut ml = Msg::default();
    ml.text(1, "ai.onnx.ml").int(2, ML_OPSET);
    out.msg(8, &ml);
    Ok(out.0)
}

/// The trees flattened into `TreeEnsembleRegressor`'s parallel lists.
#[derive(Default)]
struct Ensemble {
    tree: Vec<i64>,
    node: Vec<i64>,
    feature: Vec<i64>,
    mode: Vec<&'static str>,
    value: Vec<f64>,
    true_node: Vec<i64>,
    false_node: Vec<i64>,
    missing: Vec<i64>,
    leaf_tree: Vec<i64>,
    leaf_node: Vec<i64>,
    leaf_weight: Vec<f64>,
}

impl Ensemble {
    /// A tree's nodes by their index: a row goes to the left child when its
    /// feature is below the split value (`BRANCH_LT`), as forust sends it.
    fn add(
        &mut self,
        t: i64,
        tree: &safeflag_model::estimator::Tree,
        features: i64,
    ) -> Result<(), Error> {
        for (i, n) in tree.nodes.iter().enumerate() {
            self.tree.push(t);
            self.node.push(i as i64);
            self.missing.push(0);
            if n.is_leaf {
                self.feature.push(0);
                self.mode.push("LEAF");
                self.value.push(0.0);
                self.true_node.push(0);
                self.false_node.push(0);
                self.leaf_tree.push(t);
                self.leaf_node.push(i as i64);
                self.leaf_weight.push(f64::from(n.weight_value));
            } else {
                if n.split_feature as i64 >= features
                    || n.left_child >= tree.nodes.len()
                    || n.right_child >= tree.nodes.len()
                {
                    return Err(Error::Model(format!("tree {t} has a broken node {i}")));
                }
                self.feature.push(n.split_feature as i64);
                self.mode.push("BRANCH_LT");
                self.value.push(n.split_value);
                self.true_node.push(n.left_child as i64);
                self.false_node.push(n.right_child as i64);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_keys_follow_the_protobuf_wire_format() {
        let mut m = Msg::default();
        m.int(1, 150);
        assert_eq!(m.0, [0x08, 0x96, 0x01]);
        let mut m = Msg::default();
        m.text(2, "testing");
        assert_eq!(m.0, [0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']);
        let mut m = Msg::default();
        m.int(3, -1);
        assert_eq!(m.0.len(), 11);
    }
}
