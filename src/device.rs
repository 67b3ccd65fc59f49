//! The compute device: `device = "cpu" | "cuda"` in a config or `--device` on a command, resolved once
//! per process and passed down to every stage. CUDA needs a build with the `cuda` feature
//! (`scripts/build-cuda.sh`); data stays on the host and moves to the device per batch.

use crate::error::Result;
use candle_core::Device;
use serde::{Deserialize, Serialize};

/// Where tensors live and kernels run.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The CPU, with the fused kernels (`nn::fused`).
    #[default]
    Cpu,
    /// The first CUDA GPU, with candle's own ops (cuBLAS and its kernels).
    Cuda,
}

impl std::str::FromStr for DeviceKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            _ => Err(format!(
                "unknown device {s:?}: expected \"cpu\" or \"cuda\""
            )),
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        })
    }
}

impl DeviceKind {
    /// The device; every call for CUDA returns the same one (tensors of two CUDA contexts do not mix).
    /// Without the `cuda` feature, asking for CUDA is an error naming the build command.
    pub fn resolve(self) -> Result<Device> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda if !cfg!(feature = "cuda") => Err(config_err!(
                "device = \"cuda\": this laligan was built without CUDA support; build it with \
                 scripts/build-cuda.sh (or `cargo build --release --features cuda` where the CUDA \
                 toolkit is installed), or use device = \"cpu\""
            )),
            Self::Cuda => {
                static CUDA: std::sync::OnceLock<std::result::Result<Device, String>> =
                    std::sync::OnceLock::new();
                CUDA.get_or_init(|| Device::new_cuda(0).map_err(|e| e.to_string()))
                    .clone()
                    .map_err(|e| config_err!("device = \"cuda\": no usable CUDA GPU ({e})"))
            }
        }
    }

    /// The config override that selects this device (`device = "cuda"`).
    pub fn as_override(self) -> String {
        format!("device = \"{self}\"")
    }

    /// The kind of `device`.
    pub fn of(device: &Device) -> Self {
        if device.is_cpu() {
            Self::Cpu
        } else {
            Self::Cuda
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_resolves_and_cuda_needs_the_feature() {
        assert!(DeviceKind::Cpu.resolve().unwrap().is_cpu());
        assert_eq!("cuda".parse::<DeviceKind>(), Ok(DeviceKind::Cuda));
        assert!("gpu"
            .parse::<DeviceKind>()
            .unwrap_err()
            .contains("\"cpu\" or \"cuda\""));
        if !cfg!(feature = "cuda") {
            let e = DeviceKind::Cuda.resolve().unwrap_err().to_string();
            assert!(
                e.contains("scripts/build-cuda.sh") && e.contains("--features cuda"),
                "{e}"
            );
        }
    }
}
