//! The `[autoencoder]` settings: which autoencoder, its sizes and its output.

use crate::nn::layer::Activation;
use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// Which autoencoder.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    #[default]
    Mlp,
    /// 1-D convolutions over `[length]` or `[channels, length]` signals.
    Conv1d,
    /// 2-D convolutions over `[height, width]` or `[channels, height, width]` images.
    Cnn,
    /// z = x (flattened): the linear LieGAN baseline.
    Identity,
    /// z = Uᵀ(x − μ)/s: a fixed projection on the `latent` leading principal components of the training
    /// observations (s is one scale for all of them, so that the latent has unit mean variance, or with
    /// `whiten` each component's standard deviation). The linear LieGAN baseline where the raw
    /// observations are too large for it.
    Pca,
}

impl Kind {
    /// Whether [`Autoencoder::decode_jvp`] exists for this kind (what the SINDy autoencoder trains).
    pub fn has_decoder_jvp(self) -> bool {
        matches!(self, Kind::Mlp | Kind::Pca | Kind::Identity)
    }
}

/// Non-linearity on the decoder's output.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OutputActivation {
    /// Unbounded output (the MLP default).
    #[default]
    Identity,
    /// Values in (0, 1), for pixel intensities.
    Sigmoid,
}

impl OutputActivation {
    /// Applies the activation.
    pub fn apply(self, y: &Tensor) -> Result<Tensor> {
        match self {
            OutputActivation::Identity => Ok(y.clone()),
            OutputActivation::Sigmoid => candle_nn::ops::sigmoid(y),
        }
    }
}

/// `[autoencoder]` settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AutoencoderConfig {
    pub kind: Kind,
    /// Latent dimension per observation (ignored by `identity`, whose latent is the observation; the number
    /// of principal components for `pca`).
    pub latent: usize,
    /// Width of the hidden layers (`mlp`).
    pub hidden: usize,
    /// Hidden layers of the encoder and of the decoder (`mlp`).
    pub layers: usize,
    /// Hidden-layer activation (`mlp`; the convolutional kinds use ReLU).
    pub activation: Activation,
    /// Batch norm between each hidden Linear and its activation (`mlp`, encoder only).
    pub batch_norm: bool,
    /// Output channels of the convolution stages, each followed by a max-pool by 2 (`conv1d`, `cnn`).
    pub channels: Vec<usize>,
    /// Convolution kernel size (odd; padded to keep the size).
    pub kernel: usize,
    /// Fully connected widths between the convolution features and the latent (`conv1d`, `cnn`).
    pub fc: Vec<usize>,
    /// Decoder output activation.
    pub output: OutputActivation,
    /// Last encoder layer with exactly orthonormal rows and no bias (else a plain Linear).
    pub orthogonal: bool,
    /// Batch norm on the latent.
    pub latent_norm: bool,
    /// The principal components scaled each to unit variance (`pca`) instead of by one scale for all
    /// of them, so that weak components weigh in the latent as much as strong ones.
    pub whiten: bool,
    /// Highest degree of the decoder's monomials of the latent (`pca`): 1 is the projection alone; above
    /// 1 the decoder adds the monomials of degree 2 to this, with weights fitted by least squares to
    /// what the projection leaves of the training observations (a polynomial manifold).
    pub decoder_degree: usize,
}

impl AutoencoderConfig {
    /// The settings that shape this kind's maps, in words (for `inspect`).
    pub fn architecture(&self) -> String {
        match self.kind {
            Kind::Mlp => format!("hidden {} x {} layers", self.hidden, self.layers),
            Kind::Conv1d | Kind::Cnn => format!(
                "channels {:?}, kernel {}, fully connected {:?}",
                self.channels, self.kernel, self.fc
            ),
            Kind::Identity => "the identity".into(),
            Kind::Pca => format!(
                "principal components, {}, decoder of degree {}",
                if self.whiten { "whitened" } else { "one scale" },
                self.decoder_degree
            ),
        }
    }
}

impl crate::config::Validate for AutoencoderConfig {
    fn validate(&self, c: &mut crate::config::Checker) {
        c.at_least("latent", self.latent, 1);
        c.at_least("hidden", self.hidden, 1);
        c.at_least("layers", self.layers, 1);
        c.at_least("kernel", self.kernel, 1);
        if self.channels.contains(&0) {
            c.fail(
                "channels",
                format!("{:?}, expected counts ≥ 1", self.channels),
            );
        }
        if self.fc.contains(&0) {
            c.fail("fc", format!("{:?}, expected widths ≥ 1", self.fc));
        }
        c.at_least("decoder_degree", self.decoder_degree, 1);
        if self.decoder_degree > 1 && self.kind != Kind::Pca {
            c.fail(
                "decoder_degree",
                format!(
                    "{} needs kind = \"pca\" (it fits monomials of the projection's latent)",
                    self.decoder_degree
                ),
            );
        }
        if self.whiten && self.kind != Kind::Pca {
            c.fail(
                "whiten",
                "true needs kind = \"pca\" (it scales principal components)",
            );
        }
    }
}

impl Default for AutoencoderConfig {
    fn default() -> Self {
        Self {
            kind: Kind::Mlp,
            latent: 2,
            hidden: 512,
            layers: 5,
            activation: Activation::Relu,
            batch_norm: true,
            channels: vec![16, 32, 64],
            kernel: 3,
            fc: vec![128, 32],
            output: OutputActivation::Identity,
            orthogonal: true,
            latent_norm: true,
            whiten: false,
            decoder_degree: 1,
        }
    }
}
