//! Neural-network pieces: seeded parameter stores, layers, autoencoders, the discriminator, losses and
//! the optimizer, each with finite-difference-checked gradients.

pub mod adam;
pub mod autoencoder;
pub mod batch_norm;
pub mod conv;
pub mod discriminator;
pub mod fused;
pub mod layer;
pub mod linear;
pub mod loss;
pub mod mlp;
pub mod orthogonal;
pub mod params;
pub mod stack;

pub use adam::Adam;
pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use batch_norm::BatchNorm;
pub use discriminator::{Discriminator, DiscriminatorConfig};
pub use linear::Linear;
pub use orthogonal::Orthogonal;
pub use params::{Params, Scope};
pub use stack::GradSink;
