//! Images of a rigid 3-D object at arbitrary orientations in SO(3).
//!
//! A sample is three grayscale orthographic views of the rotated object,
//! stacked as channels of a `3 × size × size` image with values in `[0, 1]`
//! and background `0`. All views are right-handed (never mirrored); "right"
//! and "up" are the image axes, with row 0 at the top:
//!
//! | channel | view  | looking along | right | up  |
//! |---------|-------|---------------|-------|-----|
//! | 0       | front | −z            | +x    | +y  |
//! | 1       | side  | −x            | −z    | +y  |
//! | 2       | top   | −y            | +x    | −z  |
//!
//! Each view window covers `[−VIEW_HALF_WIDTH, VIEW_HALF_WIDTH]²` in world
//! units. Meshes are centred on their vertex mean and scaled to mean vertex
//! radius 1; a mesh whose largest vertex radius is below `VIEW_HALF_WIDTH`
//! minus one pixel stays strictly inside every view under every rotation
//! (the built-in object has largest radius ≈ 1.53).
//!
//! Faces are flat shaded, `albedo · (AMBIENT + DIFFUSE · max(0, n·l))`, with
//! one light direction `l ∝ (2, 3, 4)` fixed in the world frame (shared by
//! the three views). Normals are taken to face the viewer, so inconsistently
//! oriented meshes still shade sensibly. Each pixel averages a
//! `SUPERSAMPLE × SUPERSAMPLE` grid of z-buffered samples.

use std::collections::HashMap;

/// A 3×3 matrix, row-major; acts on column vectors (`v' = R v`).
pub type Mat3 = [[f64; 3]; 3];

/// Half-width of the square view window, in world units.
pub const VIEW_HALF_WIDTH: f64 = 1.7;
/// Ambient light level.
pub const AMBIENT: f64 = 0.3;
/// Diffuse (Lambertian) light level; `AMBIENT + DIFFUSE = 1`.
pub const DIFFUSE: f64 = 0.7;
/// Sub-samples per pixel along each image axis.
pub const SUPERSAMPLE: usize = 2;

/// Albedo given to every face of a mesh read from an OFF file.
const OFF_ALBEDO: f64 = 0.9;

/// Unit cells of the built-in object (a chiral bent path of five cubes) and
/// the grey level of each.
const CUBES: [([i64; 3], f64); 5] = [
    ([2, 0, 0], 1.0),
    ([1, 0, 0], 0.8),
    ([0, 0, 0], 0.6),
    ([0, 1, 0], 0.45),
    ([0, 1, 1], 0.9),
];

/// Light direction (unnormalized), world frame.
const LIGHT: [f64; 3] = [2.0, 3.0, 4.0];

/// View frames `(right, up, toward viewer)` for the three channels.
const VIEWS: [[[f64; 3]; 3]; 3] = [
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    [[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
    [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]],
];

/// A triangle mesh with a grey level (albedo) per triangle.
#[derive(Clone, Debug)]
pub struct Mesh {
    pub vertices: Vec<[f64; 3]>,
    pub triangles: Vec<[usize; 3]>,
    pub albedo: Vec<f64>,
}

impl Mesh {
    /// The built-in asymmetric object (coloured cubes), centred, mean vertex radius 1.
    ///
    /// Five unit cubes at cells (2,0,0), (1,0,0), (0,0,0), (0,1,0), (0,1,1):
    /// a bent path whose only symmetry is the identity (it is chiral), with a
    /// distinct grey level per cube. Interior faces are omitted; triangles are
    /// wound counter-clockwise seen from outside.
    pub fn cubes() -> Mesh {
        let occupied: Vec<[i64; 3]> = CUBES.iter().map(|c| c.0).collect();
        let mut index: HashMap<[i64; 3], usize> = HashMap::new();
        let mut vertices = Vec::new();
        let mut triangles = Vec::new();
        let mut albedo = Vec::new();
        let mut vertex = |p: [i64; 3], vertices: &mut Vec<[f64; 3]>| {
            *index.entry(p).or_insert_with(|| {
                vertices.push([p[0] as f64, p[1] as f64, p[2] as f64]);
                vertices.len() - 1
            })
        };
        for &(cell, grey) in &CUBES {
            for a in 0..3 {
                for s in [1i64, -1] {
                    let mut neighbour = cell;
                    neighbour[a] += s;
                    if occupied.contains(&neighbour) {
                        continue;
                    }
                    let (b, c) = ((a + 1) % 3, (a + 2) % 3);
                    let mut base = cell;
                    if s > 0 {
                        base[a] += 1;
                    }
                    let mut p1 = base;
                    p1[b] += 1;
                    let mut p2 = p1;
                    p2[c] += 1;
                    let mut p3 = base;
                    p3[c] += 1;
                    // (e_b, e_c) is positively oriented about e_a.
                    let quad = if s > 0 {
                        [base, p1, p2, p3]
                    } else {
                        [base, p3, p2, p1]
                    };
                    let q = quad.map(|p| vertex(p, &mut vertices));
                    triangles.push([q[0], q[1], q[2]]);
                    triangles.push([q[0], q[2], q[3]]);
                    albedo.extend([grey, grey]);
                }
            }
        }
        normalize(&mut vertices);
        Mesh {
            vertices,
            triangles,
            albedo,
        }
    }

    /// Reads an OFF file (one albedo for all faces), centred and scaled to mean vertex radius 1.
    ///
    /// Accepts `#` comments and blank lines, counts either on the `OFF` line or
    /// the next one, extra values after a vertex's coordinates or a face's
    /// indices (colours), and polygons, which are fan-triangulated. Errors name
    /// the 1-based line.
    pub fn from_off(text: &str) -> Result<Mesh, String> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.split('#').next().unwrap_or("").trim()))
            .filter(|(_, l)| !l.is_empty());
        let (n, header) = lines.next().ok_or("OFF: empty input")?;
        let rest = header
            .strip_prefix("OFF")
            .ok_or_else(|| format!("OFF line {n}: expected header `OFF`, found `{header}`"))?;
        let (n, counts) = if rest.trim().is_empty() {
            lines
                .next()
                .ok_or_else(|| format!("OFF line {n}: missing vertex/face counts"))?
        } else {
            (n, rest.trim())
        };
        let counts = parse_numbers::<usize>(n, counts, "count")?;
        if counts.len() < 2 {
            return Err(format!("OFF line {n}: expected vertex and face counts"));
        }
        let (nv, nf) = (counts[0], counts[1]);
        if nv == 0 || nf == 0 {
            return Err(format!("OFF line {n}: mesh has no vertices or no faces"));
        }
        let mut vertices = Vec::with_capacity(nv);
        for _ in 0..nv {
            let (n, line) = lines.next().ok_or_else(|| {
                format!("OFF: file ends after {} of {nv} vertices", vertices.len())
            })?;
            let xs = parse_numbers::<f64>(n, line, "coordinate")?;
            if xs.len() < 3 || xs[..3].iter().any(|x| !x.is_finite()) {
                return Err(format!("OFF line {n}: expected three finite coordinates"));
            }
            vertices.push([xs[0], xs[1], xs[2]]);
        }
        let mut triangles = Vec::new();
        for f in 0..nf {
            let (n, line) = lines
                .next()
                .ok_or_else(|| format!("OFF: file ends after {f} of {nf} faces"))?;
            let mut tokens = line.split_whitespace();
            let k: usize = tokens
                .next()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| format!("OFF line {n}: bad face vertex count"))?;
            if k < 3 {
                return Err(format!("OFF line {n}: face has {k} < 3 vertices"));
            }
            let mut face = Vec::with_capacity(k);
            for _ in 0..k {
                let i: usize = tokens
                    .next()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| format!("OFF line {n}: expected {k} vertex indices"))?;
                if i >= nv {
                    return Err(format!(
                        "OFF line {n}: vertex index {i} out of range (< {nv})"
                    ));
                }
                face.push(i);
            }
            for j in 1..k - 1 {
                triangles.push([face[0], face[j], face[j + 1]]);
            }
        }
        if !normalize(&mut vertices) {
            return Err("OFF: all vertices coincide".to_string());
        }
        let albedo = vec![OFF_ALBEDO; triangles.len()];
        Ok(Mesh {
            vertices,
            triangles,
            albedo,
        })
    }
}

/// Parses all whitespace-separated tokens of a line.
fn parse_numbers<T: std::str::FromStr>(n: usize, line: &str, what: &str) -> Result<Vec<T>, String> {
    line.split_whitespace()
        .map(|t| {
            t.parse()
                .map_err(|_| format!("OFF line {n}: bad {what} `{t}`"))
        })
        .collect()
}

/// Centres on the vertex mean and scales to mean vertex radius 1; false if degenerate.
fn normalize(vertices: &mut [[f64; 3]]) -> bool {
    let n = vertices.len() as f64;
    let mut c = [0.0; 3];
    for v in vertices.iter() {
        for k in 0..3 {
            c[k] += v[k] / n;
        }
    }
    let mut mean_r = 0.0;
    for v in vertices.iter_mut() {
        for k in 0..3 {
            v[k] -= c[k];
        }
        mean_r += norm(*v) / n;
    }
    if mean_r.is_nan() || mean_r <= 1e-12 {
        return false;
    }
    for v in vertices.iter_mut() {
        *v = v.map(|x| x / mean_r);
    }
    true
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn apply(r: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [dot(r[0], v), dot(r[1], v), dot(r[2], v)]
}

/// A screen-space triangle: sample-grid coordinates, depth toward the viewer, shade.
struct ScreenTri {
    p: [[f64; 2]; 3],
    depth: [f64; 3],
    shade: f32,
}

/// Rasterizes one triangle into the sample grid (`n × n`); a sample is
/// written where covered and strictly nearer than `zbuf + bias`.
fn rasterize(t: &ScreenTri, n: usize, bias: f64, zbuf: &mut [f64], cbuf: &mut [f32]) {
    let [a, b, c] = t.p;
    let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if area.abs() < 1e-12 {
        return;
    }
    let lo = |v: f64| (v - 0.5).ceil().max(0.0) as usize;
    let hi = |v: f64| ((v - 0.5).floor() + 1.0).clamp(0.0, n as f64) as usize;
    let (x0, x1) = (lo(a[0].min(b[0]).min(c[0])), hi(a[0].max(b[0]).max(c[0])));
    let (y0, y1) = (lo(a[1].min(b[1]).min(c[1])), hi(a[1].max(b[1]).max(c[1])));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let inv = 1.0 / area;
    // Barycentric weight of vertex i is an affine function e_i(x, y), normalized by area.
    let edge = |p: [f64; 2], q: [f64; 2]| {
        let dx = -(q[1] - p[1]) * inv;
        let dy = (q[0] - p[0]) * inv;
        let c0 = -(p[0] * dx + p[1] * dy);
        (dx, dy, c0)
    };
    let e = [edge(b, c), edge(c, a), edge(a, b)];
    let dz = [
        e[0].0 * t.depth[0] + e[1].0 * t.depth[1] + e[2].0 * t.depth[2],
        e[0].1 * t.depth[0] + e[1].1 * t.depth[1] + e[2].1 * t.depth[2],
        e[0].2 * t.depth[0] + e[1].2 * t.depth[1] + e[2].2 * t.depth[2],
    ];
    const EPS: f64 = -1e-9;
    for y in y0..y1 {
        let py = y as f64 + 0.5;
        let px0 = x0 as f64 + 0.5;
        let mut w = [0.0; 3];
        for i in 0..3 {
            w[i] = e[i].0 * px0 + e[i].1 * py + e[i].2;
        }
        let mut z = dz[0] * px0 + dz[1] * py + dz[2];
        let row = y * n;
        for x in x0..x1 {
            if w[0] >= EPS && w[1] >= EPS && w[2] >= EPS && z > zbuf[row + x] + bias {
                zbuf[row + x] = z;
                cbuf[row + x] = t.shade;
            }
            w[0] += e[0].0;
            w[1] += e[1].0;
            w[2] += e[2].0;
            z += dz[0];
        }
    }
}

/// Renders the mesh rotated by `r` into `out` (len 3·size·size, channel-major: [channel][row][col], row 0 at the top), values in [0,1].
pub fn render(mesh: &Mesh, r: &Mat3, size: usize, out: &mut [f32]) {
    assert_eq!(
        out.len(),
        3 * size * size,
        "output length must be 3·size·size"
    );
    assert_eq!(
        mesh.albedo.len(),
        mesh.triangles.len(),
        "one albedo per triangle"
    );
    if size == 0 {
        return;
    }
    let n = size * SUPERSAMPLE;
    let px_per_unit = n as f64 / (2.0 * VIEW_HALF_WIDTH);
    let light = LIGHT.map(|x| x / norm(LIGHT));
    let verts: Vec<[f64; 3]> = mesh.vertices.iter().map(|&v| apply(r, v)).collect();
    // Unit normals from the winding.
    let normals: Vec<[f64; 3]> = mesh
        .triangles
        .iter()
        .map(|t| {
            let nrm = cross(sub(verts[t[1]], verts[t[0]]), sub(verts[t[2]], verts[t[0]]));
            let l = norm(nrm);
            if l > 0.0 {
                nrm.map(|x| x / l)
            } else {
                nrm
            }
        })
        .collect();
    let mut zbuf = vec![f64::NEG_INFINITY; n * n];
    let mut cbuf = vec![0f32; n * n];
    let mut front = Vec::with_capacity(mesh.triangles.len());
    let mut back = Vec::new();
    for (view, channel) in VIEWS.iter().zip(out.chunks_exact_mut(size * size)) {
        let [right, up, toward] = *view;
        zbuf.fill(f64::NEG_INFINITY);
        cbuf.fill(0.0);
        front.clear();
        back.clear();
        for ((tri, nrm), &alb) in mesh.triangles.iter().zip(&normals).zip(&mesh.albedo) {
            let facing = dot(*nrm, toward);
            let sign = if facing >= 0.0 { 1.0 } else { -1.0 };
            let lambert = (sign * dot(*nrm, light)).max(0.0);
            let shade = (alb * (AMBIENT + DIFFUSE * lambert)).clamp(0.0, 1.0) as f32;
            let st = ScreenTri {
                p: tri.map(|i| {
                    let v = verts[i];
                    [
                        (dot(v, right) + VIEW_HALF_WIDTH) * px_per_unit,
                        (VIEW_HALF_WIDTH - dot(v, up)) * px_per_unit,
                    ]
                }),
                depth: tri.map(|i| dot(verts[i], toward)),
                shade,
            };
            if facing >= 0.0 {
                front.push(st);
            } else {
                back.push(st);
            }
        }
        // Back faces only show where nothing front-facing is (numerically) as near.
        for t in &front {
            rasterize(t, n, 0.0, &mut zbuf, &mut cbuf);
        }
        for t in &back {
            rasterize(t, n, 1e-7, &mut zbuf, &mut cbuf);
        }
        let scale = 1.0 / (SUPERSAMPLE * SUPERSAMPLE) as f32;
        for (row, out_row) in channel.chunks_exact_mut(size).enumerate() {
            for (col, o) in out_row.iter_mut().enumerate() {
                let mut s = 0f32;
                for dy in 0..SUPERSAMPLE {
                    let base = (row * SUPERSAMPLE + dy) * n + col * SUPERSAMPLE;
                    s += cbuf[base..base + SUPERSAMPLE].iter().sum::<f32>();
                }
                *o = (s * scale).clamp(0.0, 1.0);
            }
        }
    }
}

/// A rotation matrix uniformly distributed on SO(3) (Haar), from four standard normal numbers (a normalized quaternion).
///
/// A zero input (probability zero) gives the identity.
pub fn rotation_from_normals(q: [f64; 4]) -> Mat3 {
    let n2 = q.iter().map(|x| x * x).sum::<f64>();
    if n2 <= 0.0 || !n2.is_finite() {
        return [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    }
    let [w, x, y, z] = q.map(|c| c / n2.sqrt());
    [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y - w * z),
            2.0 * (x * z + w * y),
        ],
        [
            2.0 * (x * y + w * z),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z - w * x),
        ],
        [
            2.0 * (x * z - w * y),
            2.0 * (y * z + w * x),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const S: usize = 48;

    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    fn random_rotation(rng: &mut ChaCha8Rng) -> Mat3 {
        rotation_from_normals([normal(rng), normal(rng), normal(rng), normal(rng)])
    }

    fn matmul(a: &Mat3, b: &Mat3) -> Mat3 {
        let mut c = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
            }
        }
        c
    }

    fn det(m: &Mat3) -> f64 {
        dot(m[0], cross(m[1], m[2]))
    }

    const IDENTITY: Mat3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

    /// Rotation by `deg` degrees about coordinate axis `axis`.
    fn axis_rotation(axis: usize, deg: f64) -> Mat3 {
        let (s, c) = deg.to_radians().sin_cos();
        let (i, j) = ((axis + 1) % 3, (axis + 2) % 3);
        let mut m = IDENTITY;
        m[i][i] = c;
        m[i][j] = -s;
        m[j][i] = s;
        m[j][j] = c;
        m
    }

    /// Rotation angle of a rotation matrix, in degrees.
    fn angle_deg(m: &Mat3) -> f64 {
        ((m[0][0] + m[1][1] + m[2][2] - 1.0) / 2.0)
            .clamp(-1.0, 1.0)
            .acos()
            .to_degrees()
    }

    /// The 24 rotations of the cube: signed permutation matrices with det +1.
    fn cube_group() -> Vec<Mat3> {
        let perms = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        let mut out = Vec::new();
        for p in perms {
            for signs in 0..8 {
                let mut m = [[0.0; 3]; 3];
                for i in 0..3 {
                    m[i][p[i]] = if signs >> i & 1 == 1 { -1.0 } else { 1.0 };
                }
                if det(&m) > 0.0 {
                    out.push(m);
                }
            }
        }
        assert_eq!(out.len(), 24);
        out
    }

    fn draw(mesh: &Mesh, r: &Mat3) -> Vec<f32> {
        let mut out = vec![0f32; 3 * S * S];
        render(mesh, r, S, &mut out);
        out
    }

    fn mean_abs_diff(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs() as f64)
            .sum::<f64>()
            / a.len() as f64
    }

    #[test]
    fn rotations_are_orthonormal_with_unit_determinant() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..10_000 {
            let r = random_rotation(&mut rng);
            for i in 0..3 {
                for j in 0..3 {
                    let g: f64 = (0..3).map(|k| r[i][k] * r[j][k]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((g - want).abs() < 1e-12, "R Rᵀ[{i}][{j}] = {g}");
                }
            }
            assert!((det(&r) - 1.0).abs() < 1e-12);
        }
        assert_eq!(rotation_from_normals([0.0; 4]), IDENTITY);
    }

    #[test]
    fn rotations_are_haar_distributed() {
        // Under Haar measure E[R_ij] = 0 and E[R_ij²] = 1/3.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let n = 20_000;
        let (mut mean, mut sq) = ([[0.0; 3]; 3], [[0.0; 3]; 3]);
        for _ in 0..n {
            let r = random_rotation(&mut rng);
            for i in 0..3 {
                for j in 0..3 {
                    mean[i][j] += r[i][j] / n as f64;
                    sq[i][j] += r[i][j] * r[i][j] / n as f64;
                }
            }
        }
        for i in 0..3 {
            for j in 0..3 {
                assert!(mean[i][j].abs() < 0.02, "E[R{i}{j}] = {}", mean[i][j]);
                assert!(
                    (sq[i][j] - 1.0 / 3.0).abs() < 0.02,
                    "E[R{i}{j}²] = {}",
                    sq[i][j]
                );
            }
        }
    }

    #[test]
    fn cubes_mesh_is_closed_outward_and_normalized() {
        let m = Mesh::cubes();
        assert_eq!(m.vertices.len(), 24);
        assert_eq!(m.triangles.len(), 2 * (5 * 6 - 2 * 4));
        assert_eq!(m.albedo.len(), m.triangles.len());
        let n = m.vertices.len() as f64;
        let mean_r = m.vertices.iter().map(|&v| norm(v)).sum::<f64>() / n;
        assert!((mean_r - 1.0).abs() < 1e-12);
        for k in 0..3 {
            assert!(m.vertices.iter().map(|v| v[k]).sum::<f64>().abs() < 1e-12);
        }
        // Every edge is shared by exactly two triangles, traversed in opposite directions.
        let mut edges: HashMap<(usize, usize), i32> = HashMap::new();
        for t in &m.triangles {
            for k in 0..3 {
                *edges.entry((t[k], t[(k + 1) % 3])).or_default() += 1;
            }
        }
        for (&(a, b), &c) in &edges {
            assert_eq!(c, 1);
            assert_eq!(edges.get(&(b, a)), Some(&1));
        }
        // Positive signed volume = outward winding; five unit cubes at the normalized scale.
        let vol: f64 = m
            .triangles
            .iter()
            .map(|t| dot(m.vertices[t[0]], cross(m.vertices[t[1]], m.vertices[t[2]])) / 6.0)
            .sum();
        let edge = norm(sub(
            m.vertices[m.triangles[0][0]],
            m.vertices[m.triangles[0][1]],
        ));
        assert!((vol - 5.0 * edge.powi(3)).abs() < 1e-9, "volume {vol}");
        let max_r = m.vertices.iter().map(|&v| norm(v)).fold(0.0, f64::max);
        assert!(
            max_r < VIEW_HALF_WIDTH * (1.0 - 2.0 / 24.0),
            "max radius {max_r}"
        );
    }

    #[test]
    fn no_rotation_maps_the_cubes_to_themselves() {
        // Symmetries of a union of axis-aligned cubes lie in the cube group.
        let m = Mesh::cubes();
        let matched = |g: &Mat3| {
            m.vertices.iter().all(|&v| {
                let w = apply(g, v);
                m.vertices.iter().any(|&u| norm(sub(u, w)) < 1e-9)
            })
        };
        let fixed: Vec<Mat3> = cube_group().into_iter().filter(|g| matched(g)).collect();
        assert_eq!(fixed, vec![IDENTITY]);
        // Also no improper symmetry (the object is chiral).
        let improper = cube_group()
            .into_iter()
            .filter(|g| matched(&g.map(|row| row.map(|x| -x))))
            .count();
        assert_eq!(improper, 0);
    }

    #[test]
    fn rotating_the_object_changes_the_image() {
        let m = Mesh::cubes();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut gs: Vec<(String, Mat3)> = Vec::new();
        for axis in 0..3 {
            for deg in [10.0, 90.0, 180.0] {
                gs.push((
                    format!("{deg}° about axis {axis}"),
                    axis_rotation(axis, deg),
                ));
            }
        }
        for k in 0..5 {
            gs.push((format!("random {k}"), random_rotation(&mut rng)));
        }
        let mut min_small = f64::INFINITY;
        let mut min_large = f64::INFINITY;
        for _ in 0..10 {
            let r = random_rotation(&mut rng);
            let base = draw(&m, &r);
            assert_eq!(draw(&m, &matmul(&IDENTITY, &r)), base);
            for (name, g) in &gs {
                let d = mean_abs_diff(&draw(&m, &matmul(g, &r)), &base);
                if angle_deg(g) < 15.0 {
                    min_small = min_small.min(d);
                    assert!(d > 0.01, "{name}: mean abs diff {d}");
                } else {
                    min_large = min_large.min(d);
                    assert!(d > 0.03, "{name}: mean abs diff {d}");
                }
            }
        }
        eprintln!("min diff: 10° {min_small:.4}, larger {min_large:.4}");
    }

    #[test]
    fn views_have_no_rotational_self_symmetry() {
        let m = Mesh::cubes();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut min_cube = f64::INFINITY;
        let mut min_random = f64::INFINITY;
        // Several base orientations, so symmetry is not judged from one pose.
        for base_k in 0..3 {
            let r0 = if base_k == 0 {
                IDENTITY
            } else {
                random_rotation(&mut rng)
            };
            let base = draw(&m, &r0);
            for g in cube_group() {
                let d = mean_abs_diff(&draw(&m, &matmul(&g, &r0)), &base);
                if g == IDENTITY {
                    assert_eq!(d, 0.0);
                } else {
                    min_cube = min_cube.min(d);
                    assert!(d > 0.04, "cube rotation {g:?}: mean abs diff {d}");
                }
            }
            for _ in 0..100 {
                let g = random_rotation(&mut rng);
                let d = mean_abs_diff(&draw(&m, &matmul(&g, &r0)), &base);
                // Smallest random angles are tens of degrees; allow for them.
                let bound = 0.04 * (angle_deg(&g) / 30.0).min(1.0);
                min_random = min_random.min(d / (angle_deg(&g) / 30.0).min(1.0));
                assert!(d > bound, "angle {}: mean abs diff {d}", angle_deg(&g));
            }
        }
        eprintln!("min diff: cube group {min_cube:.4}, random (angle-scaled) {min_random:.4}");
    }

    #[test]
    fn images_are_in_range_with_object_inside_the_frame() {
        let m = Mesh::cubes();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for size in [24, S] {
            let mut out = vec![0f32; 3 * size * size];
            for _ in 0..300 {
                let r = random_rotation(&mut rng);
                render(&m, &r, size, &mut out);
                assert!(out.iter().all(|&x| (0.0..=1.0).contains(&x)));
                for ch in out.chunks_exact(size * size) {
                    let px = |row: usize, col: usize| ch[row * size + col];
                    for k in 0..size {
                        assert_eq!(px(0, k), 0.0);
                        assert_eq!(px(size - 1, k), 0.0);
                        assert_eq!(px(k, 0), 0.0);
                        assert_eq!(px(k, size - 1), 0.0);
                    }
                    let lit = ch.iter().filter(|&&x| x > 0.0).count();
                    assert!(lit > size * size / 20, "object covers {lit} pixels");
                }
            }
        }
    }

    #[test]
    fn views_follow_the_documented_axes() {
        let m = Mesh::cubes();
        let out = draw(&m, &IDENTITY);
        let centre = (S as f64 - 1.0) / 2.0;
        // Mean row of the lit pixels in the rightmost (or leftmost) lit column.
        let edge_row = |ch: usize, rightmost: bool| {
            let c = &out[ch * S * S..(ch + 1) * S * S];
            let lit = |col: usize| {
                (0..S)
                    .filter(|&row| c[row * S + col] > 0.0)
                    .collect::<Vec<_>>()
            };
            let mut cols: Vec<usize> = (0..S).filter(|&col| !lit(col).is_empty()).collect();
            if !rightmost {
                cols.reverse();
            }
            let rows = lit(*cols.last().unwrap());
            rows.iter().sum::<usize>() as f64 / rows.len() as f64
        };
        // Front (right +x, up +y): the far +x cube, at low y, is at the right and low.
        assert!(edge_row(0, true) > centre);
        // Side (right −z, up +y): the far +z cube, at high y, is at the left and high.
        assert!(edge_row(1, false) < centre);
        // Top (right +x, up −z): the far +x cube, at low z, is at the right and high.
        assert!(edge_row(2, true) < centre);
        // Silhouettes: side view after 90° about y, and top view after −90° about x,
        // match the front view.
        let mask = |v: &[f32]| v.iter().map(|&x| x > 0.0).collect::<Vec<_>>();
        let front = mask(&out[..S * S]);
        for (axis, deg, ch) in [(1, 90.0, 1), (0, -90.0, 2)] {
            let turned = draw(&m, &axis_rotation(axis, deg));
            let other = mask(&turned[ch * S * S..(ch + 1) * S * S]);
            let mismatch = front.iter().zip(&other).filter(|(a, b)| a != b).count();
            assert!(mismatch <= S / 4, "channel {ch}: {mismatch} pixels differ");
        }
    }

    #[test]
    fn off_parsing() {
        let tetra = "OFF\n# a tetrahedron\n4 4 6\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 2 1\n3 0 1 3\n3 0 3 2\n3 1 2 3\n";
        let m = Mesh::from_off(tetra).unwrap();
        assert_eq!(m.vertices.len(), 4);
        assert_eq!(m.triangles.len(), 4);
        assert!(m.albedo.iter().all(|&a| a == OFF_ALBEDO));
        let mean_r = m.vertices.iter().map(|&v| norm(v)).sum::<f64>() / 4.0;
        assert!((mean_r - 1.0).abs() < 1e-12);

        // Counts on the header line, quads fan-triangulated, face colours ignored.
        let cube = "OFF8 6 0\n-1 -1 -1\n1 -1 -1\n1 1 -1\n-1 1 -1\n-1 -1 1\n1 -1 1\n1 1 1\n-1 1 1\n\
                    4 0 3 2 1\n4 4 5 6 7\n4 0 1 5 4\n4 2 3 7 6\n4 1 2 6 5\n4 0 4 7 3 255 0 0\n";
        let m = Mesh::from_off(cube).unwrap();
        assert_eq!(m.triangles.len(), 12);
        assert!(m.vertices.iter().all(|&v| (norm(v) - 1.0).abs() < 1e-12));
        let mut out = vec![0f32; 3 * S * S];
        render(&m, &IDENTITY, S, &mut out);
        assert!(out.iter().all(|&x| (0.0..=1.0).contains(&x)));
        assert!(out.iter().filter(|&&x| x > 0.0).count() > 3 * 100);

        let err = |text: &str| Mesh::from_off(text).unwrap_err();
        assert!(err("PLY\n").contains("line 1"));
        assert!(err("").contains("empty"));
        assert!(err("OFF\n4 x 0\n").contains("line 2"));
        let e = err("OFF\n4 1 0\n0 0 0\n1 0 0\n0 1 zero\n0 0 1\n3 0 1 2\n");
        assert!(e.contains("line 5") && e.contains("zero"), "{e}");
        let e = err("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n");
        assert!(e.contains("line 6") && e.contains("out of range"), "{e}");
        let e = err("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n2 0 1\n");
        assert!(e.contains("line 6"), "{e}");
        let e = err("OFF\n3 2 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n");
        assert!(e.contains("1 of 2 faces"), "{e}");
        let e = err("OFF\n3 1 0\n0 0 0\n1 0\n0 1 0\n3 0 1 2\n");
        assert!(e.contains("line 4"), "{e}");
        assert!(err("OFF\n3 1 0\n1 1 1\n1 1 1\n1 1 1\n3 0 1 2\n").contains("coincide"));
    }
}
