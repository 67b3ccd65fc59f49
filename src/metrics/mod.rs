//! Scores of what training found: how close a generator is to a rotation, and how well latent
//! trajectories follow the group's orbits.

pub mod symmetry;

pub use symmetry::{
    complex_eigenvalues, imag_ratio, invariant_form, mean_point, orbit, orbit_cv, rotation_plane,
    skew_ratio,
};
