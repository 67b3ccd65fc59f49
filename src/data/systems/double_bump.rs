//! Double bump: ½(rectangle + triangle), each cyclically shifted by an independent uniform integer.

use super::Generated;
use crate::data::dataset::{DatasetWriter, Layout};
use crate::data::recipe::DoubleBump;
use crate::error::Result;
use crate::rng;

/// The rectangle (ones over `width` samples) and the triangle (peak 1, symmetric, `width` samples),
/// both starting at sample 0.
pub fn bumps(r: &DoubleBump) -> (Vec<f64>, Vec<f64>) {
    let mut rect = vec![0.0; r.length];
    let mut tri = vec![0.0; r.length];
    let half = r.width as f64 / 2.0;
    for i in 0..r.width {
        rect[i] = 1.0;
        tri[i] = 1.0 - ((i as f64 + 0.5) - half).abs() / half;
    }
    (rect, tri)
}

/// The signal with the rectangle shifted by `s1` and the triangle by `s2` (cyclically).
pub fn signal(r: &DoubleBump, s1: usize, s2: usize, out: &mut [f32]) {
    let (rect, tri) = bumps(r);
    let n = r.length;
    for (i, o) in out.iter_mut().enumerate().take(n) {
        *o = (0.5 * (rect[(i + n - s1 % n) % n] + tri[(i + n - s2 % n) % n])) as f32;
    }
}

pub(super) fn layout(r: &DoubleBump) -> Layout {
    super::static_layout([r.n_train, r.n_val, r.n_test], &[1, r.length])
}

pub(super) fn generate(
    r: &DoubleBump,
    seed: u64,
    w: &mut DatasetWriter,
    g: &mut Generated,
) -> Result<()> {
    let mut s = rng::stream(seed, "double-bump/shifts");
    let mut buf = vec![0f32; r.length];
    for i in 0..r.n_train + r.n_val + r.n_test {
        let (split, traj) = super::split_of(w.layout(), i);
        let (s1, s2) = (rng::below(&mut s, r.length), rng::below(&mut s, r.length));
        signal(r, s1, s2, &mut buf);
        w.write(split, traj, 0, &buf, &[], &[])?;
        g.observe(&buf);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_are_cyclic_and_independent() {
        let r = DoubleBump::default();
        let (mut a, mut b) = (vec![0f32; 64], vec![0f32; 64]);
        signal(&r, 5, 40, &mut a);
        signal(&r, 6, 40, &mut b);
        // Shifting only the rectangle by one changes exactly its two edge samples.
        let changed = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| (*x - *y).abs() > 1e-6)
            .count();
        assert_eq!(changed, 2);
        signal(&r, 60, 40, &mut a); // wraps around the end
        let rect_mass: f32 = a.iter().sum::<f32>() * 2.0;
        let (rect, tri) = bumps(&r);
        assert!(
            (rect_mass as f64 - rect.iter().sum::<f64>() - tri.iter().sum::<f64>()).abs() < 1e-4
        );
        assert_eq!(rect.iter().sum::<f64>(), 16.0);
        assert!(tri.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
}
