//! Lie algebras and groups in the latent space: the matrix exponential, fixed and learnable bases,
//! coefficient sampling and the group action.

pub mod algebra;
pub mod expm;

pub use algebra::{Basis, Block, LieConfig, MaskRule, Representation, Sampling};
pub use expm::expm;
