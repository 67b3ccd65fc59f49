//! Neural-network pieces: seeded parameter stores, layers with finite-difference-checked gradients.

pub mod batch_norm;
pub mod linear;
pub mod orthogonal;
pub mod params;

pub use batch_norm::BatchNorm;
pub use linear::Linear;
pub use orthogonal::Orthogonal;
pub use params::{Params, Scope};
