//! Training windows as views: a window is (trajectory, start) over a stored `[trajectories, steps, obs]`
//! array, its elements at start, start + gap, …; nothing is materialized until a batch is gathered.

use crate::error::Result;

/// An index of windows over a stored array.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowIndex {
    trajectories: usize,
    steps: usize,
    len: usize,
    gap: usize,
    stride: usize,
    per_traj: usize,
}

impl WindowIndex {
    /// Windows of `len` elements `gap` steps apart, starting every `stride` steps, in every trajectory.
    /// Starts run over `0 .. steps − (len − 1)·gap − tail`: `tail` = 0 takes every complete window;
    /// the reference implementation's loops end `gap` steps earlier (`tail = gap`).
    pub fn new(
        trajectories: usize,
        steps: usize,
        len: usize,
        gap: usize,
        stride: usize,
        tail: usize,
    ) -> Result<Self> {
        if len == 0 || gap == 0 || stride == 0 {
            return Err(config_err!(
                "window length, gap and stride must be positive; found {len}, {gap}, {stride}"
            ));
        }
        let span = (len - 1) * gap + tail;
        if span >= steps {
            return Err(config_err!(
                "a window of {len} elements {gap} steps apart (plus tail {tail}) does not fit in {steps} steps"
            ));
        }
        let per_traj = (steps - span).div_ceil(stride);
        Ok(Self {
            trajectories,
            steps,
            len,
            gap,
            stride,
            per_traj,
        })
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.trajectories * self.per_traj
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Elements per window.
    pub fn window_len(&self) -> usize {
        self.len
    }

    /// (trajectory, start step) of window `i`.
    pub fn get(&self, i: usize) -> (usize, usize) {
        (i / self.per_traj, (i % self.per_traj) * self.stride)
    }

    /// Flat step index (trajectory·steps + step) of element `k` of window `i`.
    pub fn element(&self, i: usize, k: usize) -> usize {
        let (traj, start) = self.get(i);
        traj * self.steps + start + k * self.gap
    }

    /// Copies windows `ids` of `data` (`obs` values per step) into `out` as `[ids.len(), len, obs]`.
    pub fn gather(&self, data: &[f32], obs: usize, ids: &[usize], out: &mut Vec<f32>) {
        out.clear();
        out.reserve(ids.len() * self.len * obs);
        for &i in ids {
            for k in 0..self.len {
                let e = self.element(i, k) * obs;
                out.extend_from_slice(&data[e..e + obs]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_counts() {
        // LV: pairs 100 steps apart, 9 800 per trajectory of 10 000 (reference bound).
        let lv = WindowIndex::new(200, 10_000, 2, 100, 1, 100).unwrap();
        assert_eq!(lv.len(), 1_960_000);
        assert_eq!(lv.get(9_800), (1, 0));
        assert_eq!(lv.element(9_801, 1), 10_000 + 1 + 100);
        // Pendulum: consecutive pairs, 498 per trajectory of 500.
        assert_eq!(
            WindowIndex::new(200, 500, 2, 1, 1, 1).unwrap().len(),
            200 * 498
        );
        // Reaction–diffusion: 7 999 training frames, 7 998 consecutive pairs.
        assert_eq!(WindowIndex::new(1, 7_999, 2, 1, 1, 0).unwrap().len(), 7_998);
        // Every 10th start.
        assert_eq!(
            WindowIndex::new(200, 10_000, 2, 100, 10, 100)
                .unwrap()
                .len(),
            196_000
        );
        assert!(WindowIndex::new(1, 5, 3, 3, 1, 0).is_err());
        assert_eq!(WindowIndex::new(1, 5, 3, 2, 1, 0).unwrap().len(), 1);
    }

    #[test]
    fn gather_copies_the_right_elements() {
        // 2 trajectories × 4 steps × 2 values: value = 100·traj + 10·step + component.
        let data: Vec<f32> = (0..2)
            .flat_map(|tr| {
                (0..4).flat_map(move |s| (0..2).map(move |c| (100 * tr + 10 * s + c) as f32))
            })
            .collect();
        let w = WindowIndex::new(2, 4, 2, 2, 1, 0).unwrap();
        assert_eq!(w.len(), 4);
        let mut out = Vec::new();
        w.gather(&data, 2, &[3, 0], &mut out);
        assert_eq!(out, vec![110., 111., 130., 131., 0., 1., 20., 21.]);
    }

    #[test]
    fn every_window_stays_inside_its_trajectory() {
        let w = WindowIndex::new(3, 50, 3, 7, 4, 2).unwrap();
        for i in 0..w.len() {
            let (traj, start) = w.get(i);
            assert!(traj < 3 && start % 4 == 0);
            let last = w.element(i, 2);
            assert_eq!(last / 50, traj);
            assert!(last % 50 + 2 < 50);
        }
    }
}
