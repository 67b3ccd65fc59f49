//! What the learned group does to observations: a validation latent moved along the one-parameter
//! subgroup exp(tL) of each generator and decoded (`orbits.png`), and for the double bump how close
//! each decoded signal is to the input with one bump cyclically shifted and the other left in place.

use super::eval::{block_latents, decode_all, Scores};
use super::model::LaLiGan;
use super::Setup;
use crate::data::recipe::{DoubleBump, System};
use crate::data::systems::double_bump;
use crate::data::Split;
use crate::error::Result;
use crate::metrics;
use crate::plot::{Colormap, Figure, PALETTE};
use serde::Serialize;
use std::path::Path;

/// Points along each orbit.
pub const ORBIT_POINTS: usize = 8;

/// One generator's orbit through a base latent, decoded.
pub struct DecodedOrbit {
    /// "block i channel c".
    pub name: String,
    /// `ORBIT_POINTS` observations, flattened.
    pub frames: Vec<f32>,
}

/// The decoded orbits through `base` (one latent of `latent_dim` values) of every generator of every
/// block whose first copy lies in one observation's latent. The group acts about `center` (the origin
/// with `keep_center`, else the mean validation latent), as in training.
pub fn decoded_orbits(
    model: &LaLiGan,
    setup: &Setup,
    scores: &Scores,
    base: &[f64],
) -> Result<Vec<DecodedOrbit>> {
    let k = model.ae.latent_dim();
    let blocks = super::eval::block_generators(model)?;
    let mut out = Vec::new();
    let mut at = 0;
    for (i, ((d, gens), b)) in blocks.iter().zip(&model.rep.blocks).enumerate() {
        let d = *d;
        if at + d <= k {
            let center = block_center(setup, &block_latents(scores, k, at, d), d);
            let z0: Vec<f64> = base[at..at + d]
                .iter()
                .zip(&center)
                .map(|(z, c)| z - c)
                .collect();
            for (c, l) in gens.iter().enumerate() {
                let orbit = metrics::orbit(l, d, &z0, ORBIT_POINTS);
                let latents: Vec<f64> = orbit
                    .chunks(d)
                    .flat_map(|p| {
                        let mut z = base.to_vec();
                        for j in 0..d {
                            z[at + j] = p[j] + center[j];
                        }
                        z
                    })
                    .collect();
                out.push(DecodedOrbit {
                    name: format!("block {i} channel {c}"),
                    frames: decode_all(model, &latents)?,
                });
            }
        }
        at += b.block.copies * d;
    }
    Ok(out)
}

/// The point a block's group acts about, as in training: the origin with `keep_center`, else the mean
/// of the block's validation latents `trajs`.
pub fn block_center(setup: &Setup, trajs: &[Vec<f64>], d: usize) -> Vec<f64> {
    if setup.lie.keep_center {
        vec![0.0; d]
    } else {
        metrics::mean_point(trajs, d)
    }
}

/// How an observation shape is drawn.
#[derive(Clone, Copy)]
enum View {
    /// `[h, w]` or `[c, h, w]` (other than 3 channels: the first one): an image.
    Gray(usize, usize),
    /// `[3, h, w]`: colour planes.
    Rgb(usize, usize),
    /// `[l]` or `[c, l]` (a few channels, the first drawn) with more than 16 samples: a curve.
    Signal(usize),
}

fn view(obs: &[usize]) -> Option<View> {
    match *obs {
        [3, h, w] => Some(View::Rgb(h, w)),
        [_, h, w] => Some(View::Gray(h, w)),
        [h, w] if h > 4 && w > 4 => Some(View::Gray(h, w)),
        [_, l] | [l] if l > 16 => Some(View::Signal(l)),
        _ => None,
    }
}

/// `orbits.png`: per generator, the decoded observations along its orbit (images in a row, or signals
/// overlaid). Returns false when observations are too small to be worth drawing (the latent plot
/// shows those).
pub fn orbits_png(obs: &[usize], orbits: &[DecodedOrbit], out: &Path) -> Result<bool> {
    let Some(v) = view(obs) else {
        return Ok(false);
    };
    if orbits.is_empty() {
        return Ok(false);
    }
    let obs_len: usize = obs.iter().product();
    let title = "decoded observations along the orbit exp(tL)·z of each generator";
    let fig = match v {
        View::Gray(h, w) | View::Rgb(h, w) => {
            let mut fig = Figure::new(orbits.len(), ORBIT_POINTS)
                .title(title)
                .panel_size(160, 160);
            for (r, o) in orbits.iter().enumerate() {
                for (c, px) in o.frames.chunks(obs_len).enumerate() {
                    let caption = format!("{} t{c}", o.name);
                    match v {
                        View::Rgb(..) => fig.image_rgb_planar(r, c, px, h, w, &caption),
                        // Multi-channel images other than RGB: the first channel.
                        _ => fig.image(r, c, &px[..h * w], h, w, &caption, Colormap::Viridis),
                    };
                }
            }
            fig
        }
        View::Signal(l) => {
            let mut fig = Figure::new(1, orbits.len())
                .title(title)
                .panel_size(460, 340);
            let xs: Vec<f64> = (0..l).map(|i| i as f64).collect();
            for (c, o) in orbits.iter().enumerate() {
                let ax = fig.axes(0, c).title(&o.name).xlabel("sample").legend(false);
                for (t, sig) in o.frames.chunks(obs_len).enumerate() {
                    ax.line(&xs, &sig[..l], None)
                        .color(PALETTE[t % PALETTE.len()]);
                }
            }
            fig
        }
    };
    fig.save(&out.join("orbits.png"))?;
    Ok(true)
}

/// For one generator of the double bump: how its orbit acts on decoded signals.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BumpShift {
    /// "block i channel c".
    pub generator: String,
    /// The bump whose cyclic shifts best explain the decoded signals: "rectangle" or "triangle".
    pub bump: String,
    /// Mean over samples and orbit points of ‖x̂ − x_s‖/‖x_s‖, where x_s is the input with that bump
    /// shifted by the best s and the other bump in place.
    pub distance: f64,
    /// Mean number of distinct best shifts along one orbit (out of `ORBIT_POINTS`): near that count
    /// when the bump travels around the circle, 1 when the generator does nothing.
    pub distinct_shifts: f64,
    /// Fraction of orbit points whose nearest double-bump signal (both shifts free) has the other
    /// bump within one sample of where the input has it: 1 when the generator leaves it in place.
    pub other_in_place: f64,
    /// Mean relative L2 distance of the decoded signals from their nearest double-bump signal (both
    /// shifts free): how clean the decoded signals are, whichever bumps moved.
    pub fit_distance: f64,
}

/// Every noiseless double-bump signal, indexed by (rectangle shift, triangle shift).
struct BumpTable {
    n: usize,
    signals: Vec<f32>,
    norms: Vec<f64>,
}

impl BumpTable {
    fn new(r: &DoubleBump) -> Self {
        let n = r.length;
        let mut signals = vec![0.0f32; n * n * n];
        for (i, out) in signals.chunks_mut(n).enumerate() {
            double_bump::signal(r, i / n, i % n, out);
        }
        let norms = signals
            .chunks(n)
            .map(|s| {
                s.iter()
                    .map(|&v| (v as f64).powi(2))
                    .sum::<f64>()
                    .max(1e-12)
            })
            .collect();
        Self { n, signals, norms }
    }

    /// ‖x − x_(a,b)‖ / ‖x_(a,b)‖.
    fn distance(&self, a: usize, b: usize, x: &[f32]) -> f64 {
        let i = a * self.n + b;
        let e: f64 = self.signals[i * self.n..(i + 1) * self.n]
            .iter()
            .zip(x)
            .map(|(p, q)| ((p - q) as f64).powi(2))
            .sum();
        (e / self.norms[i]).sqrt()
    }

    /// The shifts (rectangle, triangle) of the nearest signal to `x`, and its relative distance.
    fn fit(&self, x: &[f32]) -> (usize, usize, f64) {
        let mut best = (0, 0, f64::INFINITY);
        for a in 0..self.n {
            for b in 0..self.n {
                let d = self.distance(a, b, x);
                if d < best.2 {
                    best = (a, b, d);
                }
            }
        }
        best
    }
}

/// Whether cyclic positions `p` and `q` on a circle of `n` samples are at most one sample apart.
fn near(p: usize, q: usize, n: usize) -> bool {
    let d = (p + n - q) % n;
    d <= 1 || d == n - 1
}

/// Per generator and bump moved (0 rectangle, 1 triangle): sums over orbit points.
#[derive(Clone, Copy, Default)]
struct ShiftSums {
    distance: f64,
    distinct: f64,
    other_in_place: f64,
}

/// Validation signals scored for the double bump's shifts.
const BUMP_SAMPLES: usize = 50;

/// The double-bump shift scores of each generator over [`BUMP_SAMPLES`] evenly spaced validation
/// signals: each is encoded, moved along every generator's orbit, decoded and compared with every
/// cyclic shift of one bump (the other kept where it was), and with the nearest double-bump signal.
/// None when the recipe is not a double bump.
pub fn bump_shifts(
    model: &LaLiGan,
    setup: &Setup,
    scores: &Scores,
    val: &Split,
) -> Result<Option<Vec<BumpShift>>> {
    // A dataset file of the user's has no recipe to score against.
    let Ok(recipe) = setup.data.resolve_recipe() else {
        return Ok(None);
    };
    let Ok(System::DoubleBump(r)) = recipe.system() else {
        return Ok(None);
    };
    let n = r.length;
    let table = BumpTable::new(r);
    let signals: Vec<f32> = super::eval::evenly(val.trajectories() * val.steps(), BUMP_SAMPLES)
        .iter()
        .flat_map(|&i| val.x[i * n..(i + 1) * n].to_vec())
        .collect();
    let signals = &signals[..];
    let k = model.ae.latent_dim();
    let latents = super::eval::encode_all(model, signals, n)?;
    let mut acc: Vec<([ShiftSums; 2], f64)> = Vec::new();
    let mut names = Vec::new();
    let samples = signals.len() / n;
    for (x, z) in signals.chunks(n).zip(latents.chunks(k)) {
        let (a, b, _) = table.fit(x);
        let orbits = decoded_orbits(model, setup, scores, z)?;
        if acc.is_empty() {
            acc = vec![Default::default(); orbits.len()];
            names = orbits.iter().map(|o| o.name.clone()).collect();
        }
        for (g, o) in orbits.iter().enumerate() {
            let (sums, fit_sum) = &mut acc[g];
            let mut seen = [std::collections::BTreeSet::new(), Default::default()];
            for xhat in o.frames.chunks(n) {
                let (fa, fb, fd) = table.fit(xhat);
                *fit_sum += fd;
                for (which, slot) in sums.iter_mut().enumerate() {
                    let (d, s) = (0..n)
                        .map(|s| {
                            let (sa, sb) = if which == 0 { (s, b) } else { (a, s) };
                            (table.distance(sa, sb, xhat), s)
                        })
                        .fold(
                            (f64::INFINITY, 0),
                            |best, c| if c.0 < best.0 { c } else { best },
                        );
                    slot.distance += d;
                    seen[which].insert(s);
                    let other_kept = if which == 0 {
                        near(fb, b, n)
                    } else {
                        near(fa, a, n)
                    };
                    slot.other_in_place += other_kept as u8 as f64;
                }
            }
            for (slot, set) in sums.iter_mut().zip(&seen) {
                slot.distinct += set.len() as f64;
            }
        }
    }
    let per_point = (samples * ORBIT_POINTS).max(1) as f64;
    Ok(Some(
        acc.iter()
            .zip(names)
            .map(|((sums, fit_sum), generator)| {
                let which = if sums[0].distance <= sums[1].distance {
                    0
                } else {
                    1
                };
                BumpShift {
                    generator,
                    bump: ["rectangle", "triangle"][which].into(),
                    distance: sums[which].distance / per_point,
                    distinct_shifts: sums[which].distinct / samples.max(1) as f64,
                    other_in_place: sums[which].other_in_place / per_point,
                    fit_distance: fit_sum / per_point,
                }
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_table_finds_both_shifts_and_scores_distance() {
        let r = DoubleBump::default();
        let t = BumpTable::new(&r);
        let mut x = vec![0.0f32; r.length];
        double_bump::signal(&r, 5, 40, &mut x);
        assert_eq!(t.fit(&x), (5, 40, 0.0));
        // A scaled copy: same shifts, relative distance equal to the scale error.
        let y: Vec<f32> = x.iter().map(|v| 0.9 * v).collect();
        let (a, b, d) = t.fit(&y);
        assert_eq!((a, b), (5, 40));
        assert!((d - 0.1).abs() < 1e-6, "{d}");
        assert!((t.distance(5, 40, &y) - d).abs() < 1e-12);
    }

    #[test]
    fn near_wraps_around_the_circle() {
        assert!(near(0, 63, 64) && near(63, 0, 64) && near(7, 8, 64) && near(3, 3, 64));
        assert!(!near(0, 2, 64) && !near(62, 0, 64));
    }
}
