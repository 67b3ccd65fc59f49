//! placeholder until the solver lands
#[derive(Clone, Debug)]
pub struct LambdaOmega { pub n: usize, pub length: f64, pub d: f64, pub beta: f64 }
impl LambdaOmega {
    pub fn coords(&self) -> Vec<f64> { todo!() }
    pub fn spiral(&self) -> (Vec<f64>, Vec<f64>) { todo!() }
}
pub struct Frame<'a> { pub index: usize, pub time: f64, pub u: &'a [f64], pub v: &'a [f64], pub ut: &'a [f64], pub vt: &'a [f64] }
#[derive(Debug)] pub enum RdError { NonFinite { time: f64 }, BadParameter(String) }
impl std::fmt::Display for RdError { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "{self:?}") } }
pub fn integrate<E: From<RdError>>(_p: &LambdaOmega, _u0: &[f64], _v0: &[f64], _dt_out: f64, _n: usize, _s: usize,
    _on_frame: impl FnMut(Frame<'_>) -> Result<(), E>) -> Result<(), E> { todo!() }
