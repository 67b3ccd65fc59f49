//! The `[data]` section of an experiment: which dataset, and how training windows are cut from it.

use super::{cache, Dataset, Recipe};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Which data an experiment uses.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Built-in recipe name or path to a recipe file; generated into the cache when missing.
    pub recipe: String,
    /// Overrides of recipe keys, as `--set` would give them (e.g. `["pendulum.n_train=50"]`).
    pub recipe_set: Vec<String>,
    /// Use the first N training trajectories (0 = all).
    pub n_train: usize,
    /// Every k-th window start / sample.
    pub stride: usize,
    /// Observations per training window.
    pub window: usize,
    /// Steps between consecutive window elements.
    pub gap: usize,
    /// Steps left unused at the end of each trajectory (the reference's window loops stop `gap` steps
    /// early: `tail = gap` reproduces its window counts).
    pub tail: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            recipe: "pendulum".into(),
            recipe_set: Vec::new(),
            n_train: 0,
            stride: 1,
            window: 2,
            gap: 1,
            tail: 0,
        }
    }
}

impl DataConfig {
    /// The recipe with its overrides.
    pub fn resolve_recipe(&self) -> Result<Recipe> {
        Recipe::resolve(&self.recipe, &self.recipe_set)
    }

    /// The dataset, generated into the cache if missing.
    pub fn open(&self) -> Result<Dataset> {
        Dataset::open(&cache::ensure(&self.resolve_recipe()?)?)
    }
}
