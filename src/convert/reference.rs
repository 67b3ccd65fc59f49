//! The reference implementation's module layout mapped onto ours: every tensor of its autoencoder
//! (`encoder.*`, `decoder.*`), generator (`Li.N`, `sigma.N`, or the saved algebra list) and
//! discriminator (`model.*`) is placed in the model an experiment config describes, or refused by name.

use super::pth::{Kind, SourceTensor};
use crate::error::Result;
use crate::experiment::Experiment;
use crate::lie::algebra::fixed_basis;
use crate::nn::autoencoder::Kind as AeKind;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The modules of the reference, as prefixes of the names in [`Sources`].
pub const AUTOENCODER: &str = "autoencoder.";
pub const GENERATOR: &str = "generator.";
pub const DISCRIMINATOR: &str = "discriminator.";
/// The algebra saved as a list of tensors (`Lie_list.pt`): `lie_list.0`, `lie_list.1`, ...
pub const LIE_LIST: &str = "lie_list.";

/// Tensors of the given files under prefixed names, each with the file it came from.
pub type Sources = BTreeMap<String, (SourceTensor, PathBuf)>;

/// Our tensors by name (f64 values with their shape), and what was read but not kept, with why.
#[derive(Default)]
pub struct Mapped {
    pub tensors: BTreeMap<String, (Vec<f64>, Vec<usize>)>,
    pub notes: Vec<String>,
    /// Whether the masks of learnable generators must be recomputed from the config's threshold.
    pub recompute_masks: bool,
    pub has_discriminator: bool,
}

/// Reads sources by name, remembering which were used.
struct Take<'a> {
    src: &'a Sources,
    used: BTreeSet<String>,
}

impl Take<'_> {
    fn has(&self, key: &str) -> bool {
        self.src.contains_key(key)
    }

    fn any(&self, prefix: &str) -> bool {
        self.src.keys().any(|k| k.starts_with(prefix))
    }

    /// A tensor of `kind` and `shape` (`what` says what it is, for messages).
    fn get(&mut self, key: &str, kind: Kind, shape: &[usize], what: &str) -> Result<Vec<f64>> {
        let Some((t, file)) = self.src.get(key) else {
            return Err(data_err!(
                "{} ({what}, shape {shape:?}) is missing from the given files",
                shown(key)
            ));
        };
        self.used.insert(key.to_string());
        if t.kind != kind {
            return Err(data_err!(
                "{}: {}: {} values, expected {}",
                file.display(),
                shown(key),
                t.dtype,
                if kind == Kind::Float {
                    "floating point"
                } else {
                    "integers"
                }
            ));
        }
        if t.shape != shape {
            return Err(data_err!(
                "{}: {} has shape {:?}, but the config describes {shape:?} ({what}); the config and \
                 the checkpoint describe different models",
                file.display(),
                shown(key),
                t.shape
            ));
        }
        if let Some(i) = t.values.iter().position(|v| !v.is_finite()) {
            return Err(data_err!(
                "{}: {}: non-finite value {} at flat index {i}",
                file.display(),
                shown(key),
                t.values[i]
            ));
        }
        Ok(t.values.clone())
    }

    fn float(&mut self, key: &str, shape: &[usize], what: &str) -> Result<Vec<f64>> {
        self.get(key, Kind::Float, shape, what)
    }

    fn file(&self, key: &str) -> String {
        self.src
            .get(key)
            .map_or(String::new(), |(_, f)| f.display().to_string())
    }
}

/// A source name as the user's file spells it: without our module prefix, `Lie_list[N]` for the list.
pub fn shown(key: &str) -> String {
    match key.strip_prefix(LIE_LIST) {
        Some(i) => format!("Lie_list[{i}]"),
        None => [AUTOENCODER, GENERATOR, DISCRIMINATOR]
            .iter()
            .find_map(|p| key.strip_prefix(p))
            .unwrap_or(key)
            .to_string(),
    }
}

/// Maps the reference's tensors onto the model `exp` describes for observations of `obs` values.
pub fn map(exp: &Experiment, obs_len: usize, src: &Sources) -> Result<Mapped> {
    let mut take = Take {
        src,
        used: BTreeSet::new(),
    };
    let mut out = Mapped::default();
    autoencoder(exp, obs_len, &mut take, &mut out)?;
    generator(exp, &mut take, &mut out)?;
    out.has_discriminator = take.any(DISCRIMINATOR);
    if out.has_discriminator {
        let disc_in = exp.data.window
            * match exp.discriminator.input {
                crate::nn::discriminator::Input::Latent => exp.autoencoder.latent,
                crate::nn::discriminator::Input::LatentAndDecoded => {
                    exp.autoencoder.latent + obs_len
                }
            };
        let d = &exp.discriminator;
        mlp(
            &mut take,
            &mut out,
            ("disc", "discriminator.model"),
            (disc_in, d.hidden, d.layers, 1),
        )?;
    }
    if let Some(k) = src.keys().find(|k| !take.used.contains(*k)) {
        return Err(data_err!(
            "{}: {} {:?} has no place in the model the config describes (check the config's layers, \
             batch_norm, orthogonal, latent_norm and [lie] blocks against the checkpoint)",
            take.file(k),
            shown(k),
            src[k].0.shape
        ));
    }
    Ok(out)
}

/// A linear layer `inp → out` of the reference (`weight` `[out, inp]`, `bias`) as our `ours.*`.
fn linear(
    take: &mut Take,
    out: &mut Mapped,
    ours: &str,
    theirs: &str,
    (inp, n): (usize, usize),
) -> Result<()> {
    let what = format!("linear {inp} → {n}");
    let w = take.float(&format!("{theirs}.weight"), &[n, inp], &what)?;
    let b = take.float(&format!("{theirs}.bias"), &[n], &what)?;
    out.tensors
        .insert(format!("{ours}.weight"), (w, vec![n, inp]));
    out.tensors.insert(format!("{ours}.bias"), (b, vec![n]));
    Ok(())
}

/// A batch norm of `n` features (its batch count read and not kept).
fn batch_norm(take: &mut Take, out: &mut Mapped, ours: &str, theirs: &str, n: usize) -> Result<()> {
    let what = format!("batch norm of {n} features");
    for p in ["weight", "bias", "running_mean", "running_var"] {
        let v = take.float(&format!("{theirs}.{p}"), &[n], &what)?;
        out.tensors.insert(format!("{ours}.{p}"), (v, vec![n]));
    }
    let key = format!("{theirs}.num_batches_tracked");
    if take.has(&key) {
        let count = take.get(&key, Kind::Int, &[], "batch count")?[0];
        let note =
            "num_batches_tracked read and not kept: PyTorch uses it only when a batch norm's \
                    momentum is None, and the reference's (and ours) is 0.1";
        if !out.notes.iter().any(|n| n == note) {
            out.notes.push(note.to_string());
        }
        tracing::debug!("{}: {count} batches", shown(&key));
    }
    Ok(())
}

/// An MLP body with its output layer: `(ours, theirs)` names, sizes `(input, hidden, layers, output)`.
/// The reference nests layer i ≥ 1 as `{i+1}.0` after the first layer and its activation.
fn mlp(
    take: &mut Take,
    out: &mut Mapped,
    (ours, theirs): (&str, &str),
    (inp, hidden, layers, n_out): (usize, usize, usize, usize),
) -> Result<()> {
    for i in 0..layers {
        let t = if i == 0 {
            format!("{theirs}.0")
        } else {
            format!("{theirs}.{}.0", i + 1)
        };
        let from = if i == 0 { inp } else { hidden };
        linear(take, out, &format!("{ours}.{i}"), &t, (from, hidden))?;
    }
    linear(
        take,
        out,
        &format!("{ours}.out"),
        &format!("{theirs}.{}", layers + 1),
        (hidden, n_out),
    )
}

fn autoencoder(exp: &Experiment, obs_len: usize, take: &mut Take, out: &mut Mapped) -> Result<()> {
    let ae = &exp.autoencoder;
    if ae.kind != AeKind::Mlp {
        return Err(config_err!(
            "autoencoder.kind = {:?}: only the reference's MLP autoencoder is converted (its conv1d \
             and cnn layouts differ from laligan's)",
            format!("{:?}", ae.kind).to_lowercase()
        ));
    }
    let (h, l, k) = (ae.hidden, ae.layers, ae.latent);
    // Encoder: Linear, [Reshape, BatchNorm, Reshape], activation, then layers 1.. nested as
    // `{4+i}.{0 linear, 2 batch norm}`, the last linear at 4+layers and the latent batch norm at 6+layers.
    for i in 0..l {
        let (lin, bn) = if i == 0 {
            ("encoder.0".to_string(), "encoder.2".to_string())
        } else {
            (
                format!("encoder.{}.0", 4 + i),
                format!("encoder.{}.2", 4 + i),
            )
        };
        let from = if i == 0 { obs_len } else { h };
        linear(
            take,
            out,
            &format!("ae.encoder.{i}"),
            &format!("{AUTOENCODER}{lin}"),
            (from, h),
        )?;
        if ae.batch_norm {
            let key = format!("{AUTOENCODER}{bn}");
            if i == 0 && !take.has(&format!("{key}.weight")) {
                return Err(data_err!(
                    "{bn}.weight (batch norm after the first encoder layer) is missing, but the config \
                     has autoencoder.batch_norm = true; the reference adds batch norm only when \
                     batch_norm is set and a window has more than one element: set batch_norm = false \
                     and latent_norm = false"
                ));
            }
            batch_norm(take, out, &format!("ae.encoder.{i}.norm"), &key, h)?;
        }
    }
    let head = format!("{AUTOENCODER}encoder.{}", 4 + l);
    let mut bias_shift = None;
    if ae.orthogonal {
        let what = format!("orthogonal linear {h} → {k}");
        let p = format!("{head}.parametrizations.weight");
        if k >= h {
            return Err(config_err!(
                "autoencoder.latent = {k} ≥ hidden = {h}: PyTorch parametrizes a square orthogonal \
                 layer with the matrix exponential, which is not converted"
            ));
        }
        let original = take.float(&format!("{p}.original"), &[k, h], &what)?;
        let base_key = format!("{p}.0.base");
        let base = if take.has(&base_key) {
            Some(take.float(&base_key, &[h, h], &what)?)
        } else {
            None
        };
        let w = torch_orthogonal_weight(&original, k, h, base.as_deref()).map_err(|e| {
            data_err!(
                "{}: {}: {e}",
                take.file(&format!("{p}.original")),
                shown(&p)
            )
        })?;
        let v = crate::nn::orthogonal::householder_vectors(&w, k, h);
        out.tensors
            .insert("ae.encoder.head.householder".into(), (v, vec![k, h]));
        let bias = take.float(&format!("{head}.bias"), &[k], &what)?;
        if ae.latent_norm {
            bias_shift = Some(bias);
            out.notes.push(format!(
                "{}.bias folded into the latent batch norm's running mean (laligan's orthogonal layer \
                 has no bias; the batch norm after it removes any constant shift)",
                shown(&head)
            ));
        } else if bias.iter().any(|&b| b != 0.0) {
            return Err(data_err!(
                "{}.bias is not zero and no latent batch norm follows to absorb it; laligan's \
                 orthogonal layer has no bias (set autoencoder.latent_norm = true if the checkpoint \
                 has a batch norm at encoder.{})",
                shown(&head),
                6 + l
            ));
        }
    } else {
        linear(take, out, "ae.encoder.head", &head, (h, k))?;
    }
    if ae.latent_norm {
        batch_norm(
            take,
            out,
            "ae.encoder.norm",
            &format!("{AUTOENCODER}encoder.{}", 6 + l),
            k,
        )?;
        if let Some(b) = bias_shift {
            let rm = &mut out
                .tensors
                .get_mut("ae.encoder.norm.running_mean")
                .unwrap()
                .0;
            for (m, b) in rm.iter_mut().zip(b) {
                *m -= b;
            }
        }
    }
    // Decoder: Linear, activation, then layers 1.. nested as `{i+1}.0`, the output linear at 1+layers.
    mlp(
        take,
        out,
        ("ae.decoder", &format!("{AUTOENCODER}decoder")),
        (k, h, l, obs_len),
    )
}

fn generator(exp: &Experiment, take: &mut Take, out: &mut Mapped) -> Result<()> {
    let lie = &exp.lie;
    let has_gen = take.any(GENERATOR);
    let has_list = take.any(LIE_LIST);
    if !has_gen && !has_list {
        return Err(data_err!(
            "no generator given: pass the reference's generator state dict (generator_N.pt, with Li.N \
             and sigma.N) or its saved algebra (Lie_list.pt)"
        ));
    }
    let n = lie.blocks.len() + usize::from(lie.inert > 0);
    for (i, b) in lie.blocks.iter().enumerate() {
        let shape = [b.channels, b.dim, b.dim];
        let what = format!("generators of latent block {i}");
        let raw = if has_gen {
            Some(take.float(&format!("{GENERATOR}Li.{i}"), &shape, &what)?)
        } else {
            None
        };
        let listed = if has_list {
            Some(take.float(&format!("{LIE_LIST}{i}"), &shape, &what)?)
        } else {
            None
        };
        if has_gen {
            let s = take.float(
                &format!("{GENERATOR}sigma.{i}"),
                &[b.channels, b.channels],
                "coefficient scale",
            )?;
            check_sigma(
                &s,
                b.channels,
                lie.sigma,
                &format!("sigma.{i}"),
                "lie.sigma",
            )?;
        }
        if let Some((c, d, fixed)) = fixed_basis(b.basis) {
            for (name, v) in [("Li", &raw), ("Lie_list", &listed)] {
                if let Some(v) = v {
                    if v.iter().zip(&fixed).any(|(a, b)| (a - b).abs() > 1e-6)
                        || c * d * d != v.len()
                    {
                        return Err(data_err!(
                            "{name} {i} differs from the fixed basis {:?} that lie.blocks[{i}] names",
                            b.basis
                        ));
                    }
                }
            }
            continue;
        }
        let basis = match (&raw, &listed) {
            (Some(r), Some(l)) => {
                // The list holds the masked generators: its zeros are the mask.
                for (j, (r, l)) in r.iter().zip(l).enumerate() {
                    if *l != 0.0 && (r - l).abs() > 1e-6 * r.abs().max(1.0) {
                        return Err(data_err!(
                            "Li.{i} and Lie_list[{i}] disagree at flat index {j} ({r} against {l}): \
                             not from the same model"
                        ));
                    }
                }
                r.clone()
            }
            (Some(r), None) => {
                out.recompute_masks = true;
                r.clone()
            }
            (None, Some(l)) => l.clone(),
            (None, None) => unreachable!("one of them is given"),
        };
        let mask: Vec<f64> = match &listed {
            Some(l) => l.iter().map(|&v| f64::from(u8::from(v != 0.0))).collect(),
            None => vec![1.0; basis.len()],
        };
        out.tensors
            .insert(format!("lie.block{i}.basis"), (basis, shape.to_vec()));
        out.tensors
            .insert(format!("lie.block{i}.mask"), (mask, shape.to_vec()));
    }
    if lie.inert > 0 {
        let i = lie.blocks.len();
        let what = format!("the {} inert latent dimensions", lie.inert);
        let shape = [1, lie.inert, lie.inert];
        for key in [
            has_gen.then(|| format!("{GENERATOR}Li.{i}")),
            has_list.then(|| format!("{LIE_LIST}{i}")),
        ]
        .into_iter()
        .flatten()
        {
            if take.float(&key, &shape, &what)?.iter().any(|&v| v != 0.0) {
                return Err(data_err!(
                    "{} is not zero, but lie.inert = {} says its dimensions do not transform",
                    shown(&key),
                    lie.inert
                ));
            }
        }
        if has_gen {
            take.float(&format!("{GENERATOR}sigma.{i}"), &[1, 1], &what)?;
        }
    }
    if has_list {
        let extra = format!("{LIE_LIST}{n}");
        if take.has(&extra) {
            return Err(data_err!(
                "Lie_list holds more than the {n} generator blocks lie.blocks and lie.inert describe"
            ));
        }
    }
    if out.recompute_masks && lie.threshold_every > 0 {
        out.notes.push(format!(
            "the generator's mask is not saved by the reference: recomputed as |L| > {}·max|L| per \
             channel (lie.threshold), as its last thresholding did; pass Lie_list.pt too to take the \
             saved masked algebra instead",
            lie.threshold
        ));
    }
    Ok(())
}

/// Refuses a coefficient scale `s` (`[c, c]`) other than `sigma`·I.
fn check_sigma(s: &[f64], c: usize, sigma: f64, name: &str, key: &str) -> Result<()> {
    for (j, v) in s.iter().enumerate() {
        let want = if j / c == j % c { sigma } else { 0.0 };
        if (v - want).abs() > 1e-6 * sigma.abs().max(1.0) {
            return Err(data_err!(
                "{name} is not {sigma}·I (entry {j} is {v}): set {key} to the reference's sigma_init"
            ));
        }
    }
    Ok(())
}

/// The weight `[k, n]` (k < n) that PyTorch's orthogonal parametrization with its Householder map
/// computes from `original` (`[k, n]`, the weight's shape) and the trivialization `base` (`[n, n]`):
/// with X = originalᵀ, A its strictly lower part and τⱼ = 2/(1 + ‖A₍:,ⱼ₎‖²), Q = H₁⋯H_k E (the
/// product LAPACK's orgqr forms, vⱼ = eⱼ + A₍:,ⱼ₎), each column j multiplied by X_jj cast to an
/// integer, then Q ← base·Q, and the weight is Qᵀ.
pub fn torch_orthogonal_weight(
    original: &[f64],
    k: usize,
    n: usize,
    base: Option<&[f64]>,
) -> std::result::Result<Vec<f64>, String> {
    // x[r][c] = original[c][r]
    let x = |r: usize, c: usize| original[c * n + r];
    let mut q = vec![0.0; n * k]; // n × k, row-major
    for j in 0..k {
        q[j * k + j] = 1.0;
    }
    for j in (0..k).rev() {
        let v: Vec<f64> = (0..n)
            .map(|r| match r.cmp(&j) {
                std::cmp::Ordering::Less => 0.0,
                std::cmp::Ordering::Equal => 1.0,
                std::cmp::Ordering::Greater => x(r, j),
            })
            .collect();
        let tau = 2.0 / v.iter().map(|a| a * a).sum::<f64>();
        crate::nn::orthogonal::reflect_columns(&mut q, k, &v, tau, 0..k);
    }
    for j in 0..k {
        // Tensor.int() truncates toward zero.
        let sign = x(j, j).trunc();
        if sign == 0.0 {
            return Err(format!(
                "diagonal entry {j} of the parametrization is {} (PyTorch keeps it at ±1); the \
                 weight it gives is degenerate",
                x(j, j)
            ));
        }
        for r in 0..n {
            q[r * k + j] *= sign;
        }
    }
    let q = match base {
        None => q,
        Some(b) => {
            let mut out = vec![0.0; n * k];
            for r in 0..n {
                for m in 0..n {
                    let brm = b[r * n + m];
                    if brm != 0.0 {
                        for c in 0..k {
                            out[r * k + c] += brm * q[m * k + c];
                        }
                    }
                }
            }
            out
        }
    };
    Ok((0..k * n).map(|i| q[(i % n) * k + i / n]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parametrization_at_its_initial_value_gives_the_first_rows_of_its_base() {
        // PyTorch starts `original` at −I (k × n) so that the weight is the base's first k columns, transposed.
        let (k, n) = (2, 4);
        let mut original = vec![0.0; k * n];
        original[0] = -1.0;
        original[n + 1] = -1.0;
        let theta: f64 = 0.3;
        let (c, s) = (theta.cos(), theta.sin());
        // A rotation in the (0, 2) plane, identity elsewhere.
        let mut base = vec![0.0; n * n];
        for i in 0..n {
            base[i * n + i] = 1.0;
        }
        base[0] = c;
        base[2] = -s;
        base[2 * n] = s;
        base[2 * n + 2] = c;
        let w = torch_orthogonal_weight(&original, k, n, Some(&base)).unwrap();
        let want: Vec<f64> = (0..k * n).map(|i| base[(i % n) * n + i / n]).collect();
        for (a, b) in w.iter().zip(&want) {
            assert!((a - b).abs() < 1e-15, "{w:?} vs {want:?}");
        }
    }

    #[test]
    fn the_parametrization_gives_orthonormal_rows_and_our_vectors_reproduce_them() {
        let (k, n) = (3, 7);
        let mut r = crate::rng::stream(5, "t");
        let mut original: Vec<f64> = (0..k * n).map(|_| crate::rng::normal(&mut r)).collect();
        for j in 0..k {
            original[j * n + j] = if j == 1 { 1.0 } else { -1.0 };
        }
        let w = torch_orthogonal_weight(&original, k, n, None).unwrap();
        for a in 0..k {
            for b in 0..k {
                let dot: f64 = (0..n).map(|i| w[a * n + i] * w[b * n + i]).sum();
                assert!((dot - f64::from(u8::from(a == b))).abs() < 1e-13);
            }
        }
        let v = crate::nn::orthogonal::householder_vectors(&w, k, n);
        let t = candle_core::Tensor::from_vec(v, (k, n), &candle_core::Device::Cpu).unwrap();
        let back: Vec<f64> = crate::nn::orthogonal::householder_frame(&t)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (a, b) in back.iter().zip(&w) {
            assert!((a - b).abs() < 1e-13, "{a} vs {b}");
        }
    }

    #[test]
    fn a_zeroed_diagonal_is_refused() {
        let original = vec![0.4, 0.1, 0.2, 0.3];
        let err = torch_orthogonal_weight(&original, 1, 4, None).unwrap_err();
        assert!(err.contains("diagonal entry 0"), "{err}");
    }
}
