//! Feature libraries Θ(x): products of elementary functions of single states, parsed from a short
//! spec, composed by concatenation and tensor product, evaluated in column-major chunks.

use super::{Result, SindyError};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// Rows evaluated at once when accumulating the Gram matrix: `p` columns of this length stay in
/// L1/L2 cache, so every Gram entry is a dot product of two short contiguous slices.
const CHUNK: usize = 512;

/// Largest degree accepted by `poly(k)`.
const MAX_DEGREE: u32 = 10;

/// An elementary function of one state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Func {
    /// The state itself.
    Id,
    /// `sin`.
    Sin,
    /// `cos`.
    Cos,
    /// `exp`.
    Exp,
}

impl Func {
    /// The function's value at `v`.
    #[inline]
    pub fn apply(self, v: f64) -> f64 {
        match self {
            Func::Id => v,
            Func::Sin => v.sin(),
            Func::Cos => v.cos(),
            Func::Exp => v.exp(),
        }
    }

    /// The function's derivative at `v`.
    #[inline]
    pub fn derivative(self, v: f64) -> f64 {
        match self {
            Func::Id => 1.0,
            Func::Sin => v.cos(),
            Func::Cos => -v.sin(),
            Func::Exp => v.exp(),
        }
    }
}

/// `func(x[state])^power`, a factor of a [`Term`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Factor {
    pub func: Func,
    pub state: usize,
    pub power: u32,
}

impl Factor {
    /// `func(x[state])^power`.
    pub fn new(func: Func, state: usize, power: u32) -> Self {
        Factor { func, state, power }
    }

    #[inline]
    fn value(&self, x: &[f64]) -> f64 {
        pow(self.func.apply(x[self.state]), self.power)
    }

    /// d/dx[state] of the factor.
    #[inline]
    fn derivative(&self, x: &[f64]) -> f64 {
        let v = x[self.state];
        let inner = pow(self.func.apply(v), self.power - 1);
        self.power as f64 * inner * self.func.derivative(v)
    }

    fn name(&self, names: &[String]) -> String {
        let s = &names[self.state];
        let base = match self.func {
            Func::Id => s.clone(),
            Func::Sin => format!("sin({s})"),
            Func::Cos => format!("cos({s})"),
            Func::Exp => format!("exp({s})"),
        };
        if self.power == 1 {
            base
        } else {
            format!("{base}^{}", self.power)
        }
    }
}

#[inline]
fn pow(v: f64, k: u32) -> f64 {
    match k {
        0 => 1.0,
        1 => v,
        2 => v * v,
        _ => v.powi(k as i32),
    }
}

/// A library term: a product of factors (the empty product is the constant `1`).
/// Factors are kept sorted by (function, state) with equal ones merged, so equal terms compare equal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Term {
    factors: Vec<Factor>,
}

impl Term {
    /// The constant term `1`.
    pub fn constant() -> Self {
        Term {
            factors: Vec::new(),
        }
    }

    /// The product of `factors` in canonical form (zero powers dropped, equal bases merged).
    pub fn new(factors: impl IntoIterator<Item = Factor>) -> Self {
        let mut f: Vec<Factor> = factors.into_iter().filter(|f| f.power > 0).collect();
        f.sort();
        let mut out: Vec<Factor> = Vec::with_capacity(f.len());
        for fac in f {
            match out.last_mut() {
                Some(last) if last.func == fac.func && last.state == fac.state => {
                    last.power += fac.power
                }
                _ => out.push(fac),
            }
        }
        Term { factors: out }
    }

    /// The factors, in canonical order.
    pub fn factors(&self) -> &[Factor] {
        &self.factors
    }

    /// The product of two terms.
    pub fn mul(&self, other: &Term) -> Term {
        Term::new(self.factors.iter().chain(&other.factors).copied())
    }

    /// The printable name, e.g. `x0^2*x1`, `sin(theta)`, `1`.
    pub fn name(&self, names: &[String]) -> String {
        if self.factors.is_empty() {
            return "1".to_string();
        }
        self.factors
            .iter()
            .map(|f| f.name(names))
            .collect::<Vec<_>>()
            .join("*")
    }

    /// The value at one state `x`.
    #[inline]
    pub fn value(&self, x: &[f64]) -> f64 {
        self.factors.iter().map(|f| f.value(x)).product()
    }

    /// Adds the gradient of the term at `x` to `grad` (length d).
    fn gradient_into(&self, x: &[f64], grad: &mut [f64]) {
        for (k, fk) in self.factors.iter().enumerate() {
            let mut g = fk.derivative(x);
            for (j, fj) in self.factors.iter().enumerate() {
                if j != k {
                    g *= fj.value(x);
                }
            }
            grad[fk.state] += g;
        }
    }

    fn max_state(&self) -> Option<usize> {
        self.factors.iter().map(|f| f.state).max()
    }
}

/// Default state names `x0, x1, ...`.
pub fn default_state_names(d: usize) -> Vec<String> {
    (0..d).map(|i| format!("x{i}")).collect()
}

/// Per-term evaluation plan over the distinct (function, state) bases of a library.
#[derive(Clone, Debug, Default)]
struct Plan {
    bases: Vec<(Func, usize)>,
    terms: Vec<Vec<(usize, u32)>>,
}

impl Plan {
    fn new(terms: &[Term]) -> Self {
        let mut bases: Vec<(Func, usize)> = Vec::new();
        let mut plan = Vec::with_capacity(terms.len());
        for t in terms {
            let mut row = Vec::with_capacity(t.factors.len());
            for f in &t.factors {
                let key = (f.func, f.state);
                let b = match bases.iter().position(|&k| k == key) {
                    Some(b) => b,
                    None => {
                        bases.push(key);
                        bases.len() - 1
                    }
                };
                row.push((b, f.power));
            }
            plan.push(row);
        }
        Plan { bases, terms: plan }
    }
}

/// A feature library over `d` named states.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "LibraryData", into = "LibraryData")]
pub struct Library {
    spec: String,
    state_names: Vec<String>,
    terms: Vec<Term>,
    plan: Plan,
}

#[derive(Serialize, Deserialize)]
struct LibraryData {
    spec: String,
    state_names: Vec<String>,
    terms: Vec<Term>,
}

impl From<Library> for LibraryData {
    fn from(l: Library) -> Self {
        LibraryData {
            spec: l.spec,
            state_names: l.state_names,
            terms: l.terms,
        }
    }
}

impl TryFrom<LibraryData> for Library {
    type Error = SindyError;
    fn try_from(v: LibraryData) -> Result<Self> {
        Library::from_terms(v.spec, v.state_names, v.terms)
    }
}

/// Sufficient statistics of the least-squares problem Θ Ξᵀ ≈ Ẋ.
#[derive(Clone, Debug)]
pub struct Gram {
    /// ΘᵀΘ, `p × p`.
    pub gtg: DMatrix<f64>,
    /// ΘᵀẊ, `p × d`.
    pub gty: DMatrix<f64>,
    /// Number of samples.
    pub n: usize,
}

impl Library {
    /// Parses a spec such as `"1 + poly(3)"` or `"poly(2) * sin(x)"` over `d` states named `x0, x1, ...`.
    pub fn parse(spec: &str, d: usize) -> Result<Self> {
        if d == 0 {
            return Err(SindyError::Shape(
                "a library needs at least one state".into(),
            ));
        }
        let terms = parse::parse(spec, d)?;
        Library::from_terms(spec.trim().to_string(), default_state_names(d), terms)
    }

    /// A library of explicit terms (duplicates removed, first occurrence kept).
    pub fn from_terms(
        spec: impl Into<String>,
        state_names: Vec<String>,
        terms: Vec<Term>,
    ) -> Result<Self> {
        check_names(&state_names)?;
        let d = state_names.len();
        if let Some(t) = terms.iter().find(|t| t.max_state().is_some_and(|s| s >= d)) {
            return Err(SindyError::Shape(format!(
                "term {:?} refers to a state beyond the {d} states",
                t.factors
            )));
        }
        if terms.is_empty() {
            return Err(SindyError::Shape(
                "a library needs at least one term".into(),
            ));
        }
        let terms = dedup(terms.into_iter().map(|t| Term::new(t.factors)).collect());
        let plan = Plan::new(&terms);
        Ok(Library {
            spec: spec.into(),
            state_names,
            terms,
            plan,
        })
    }

    /// The same library with the states renamed (e.g. `z0`, `theta`).
    pub fn with_state_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.state_names.len() {
            return Err(SindyError::Shape(format!(
                "{} state names given for {} states",
                names.len(),
                self.state_names.len()
            )));
        }
        check_names(&names)?;
        self.state_names = names;
        Ok(self)
    }

    /// Concatenation (`+`): the terms of `self` then the new terms of `other`.
    pub fn concat(&self, other: &Library) -> Result<Self> {
        self.check_compatible(other)?;
        let terms = self.terms.iter().chain(&other.terms).cloned().collect();
        Library::from_terms(
            format!("({}) + ({})", self.spec, other.spec),
            self.state_names.clone(),
            terms,
        )
    }

    /// Tensor product (`*`): every product of a term of `self` with a term of `other`.
    pub fn tensor(&self, other: &Library) -> Result<Self> {
        self.check_compatible(other)?;
        Library::from_terms(
            format!("({}) * ({})", self.spec, other.spec),
            self.state_names.clone(),
            product(&self.terms, &other.terms),
        )
    }

    fn check_compatible(&self, other: &Library) -> Result<()> {
        if self.state_names.len() != other.state_names.len() {
            return Err(SindyError::Shape(format!(
                "cannot combine libraries over {} and {} states",
                self.state_names.len(),
                other.state_names.len()
            )));
        }
        Ok(())
    }

    /// The spec the library was built from.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The state names.
    pub fn state_names(&self) -> &[String] {
        &self.state_names
    }

    /// Number of states `d`.
    pub fn n_states(&self) -> usize {
        self.state_names.len()
    }

    /// Number of terms `p`.
    pub fn n_terms(&self) -> usize {
        self.terms.len()
    }

    /// The terms.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The term names, in library order.
    pub fn term_names(&self) -> Vec<String> {
        self.terms
            .iter()
            .map(|t| t.name(&self.state_names))
            .collect()
    }

    fn n_samples(&self, x: &[f64]) -> Result<usize> {
        let d = self.n_states();
        if !x.len().is_multiple_of(d) {
            return Err(SindyError::Shape(format!(
                "x has {} values, not a multiple of d = {d}",
                x.len()
            )));
        }
        Ok(x.len() / d)
    }

    /// Θ(x) for row-major samples `x` `[n, d]`, as a column-major `n × p` matrix (column j is term j
    /// over all samples, the layout the Gram products use). Fails on a non-finite feature.
    pub fn evaluate(&self, x: &[f64]) -> Result<DMatrix<f64>> {
        let n = self.n_samples(x)?;
        let p = self.n_terms();
        let mut out = DMatrix::zeros(n, p);
        let mut bases = Vec::new();
        self.eval_chunk(x, n, 0, &mut bases, out.as_mut_slice())?;
        Ok(out)
    }

    /// Θ at one state, written to `out` (length p), without finiteness checks.
    #[inline]
    pub fn eval_point(&self, x: &[f64], out: &mut [f64]) {
        for (o, t) in out.iter_mut().zip(&self.terms) {
            *o = t.value(x);
        }
    }

    /// The Jacobian dΘ/dx at one state, `p × d`.
    pub fn jacobian(&self, x: &[f64]) -> DMatrix<f64> {
        let d = self.n_states();
        let mut jac = DMatrix::zeros(self.n_terms(), d);
        let mut g = vec![0.0; d];
        for (j, t) in self.terms.iter().enumerate() {
            g.fill(0.0);
            t.gradient_into(x, &mut g);
            for (s, v) in g.iter().enumerate() {
                jac[(j, s)] = *v;
            }
        }
        jac
    }

    /// Evaluates `rows` samples starting at sample `first` into the column-major `out` (`p × rows`
    /// values, stride `rows`). `bases` is scratch space.
    fn eval_chunk(
        &self,
        x: &[f64],
        rows: usize,
        first: usize,
        bases: &mut Vec<f64>,
        out: &mut [f64],
    ) -> Result<()> {
        let d = self.n_states();
        bases.resize(self.plan.bases.len() * rows, 0.0);
        for (b, &(func, s)) in self.plan.bases.iter().enumerate() {
            let col = &mut bases[b * rows..(b + 1) * rows];
            for (c, row) in col.iter_mut().zip(x.chunks_exact(d)) {
                *c = func.apply(row[s]);
            }
        }
        for (j, plan) in self.plan.terms.iter().enumerate() {
            let col = &mut out[j * rows..(j + 1) * rows];
            match plan.split_first() {
                None => col.fill(1.0),
                Some((&(b0, k0), rest)) => {
                    let base = &bases[b0 * rows..(b0 + 1) * rows];
                    for (c, &v) in col.iter_mut().zip(base) {
                        *c = pow(v, k0);
                    }
                    for &(b, k) in rest {
                        let base = &bases[b * rows..(b + 1) * rows];
                        for (c, &v) in col.iter_mut().zip(base) {
                            *c *= pow(v, k);
                        }
                    }
                }
            }
            if !all_finite(col) {
                let i = col.iter().position(|v| !v.is_finite()).unwrap_or(0);
                return Err(SindyError::NonFinite {
                    term: self.terms[j].name(&self.state_names),
                    sample: first + i,
                    value: col[i],
                });
            }
        }
        Ok(())
    }

    /// ΘᵀΘ and ΘᵀẊ in one chunked pass over row-major `x` and `dx` (`[n, d]` each).
    pub fn gram(&self, x: &[f64], dx: &[f64]) -> Result<Gram> {
        let n = self.n_samples(x)?;
        let d = self.n_states();
        if dx.len() != x.len() {
            return Err(SindyError::Shape(format!(
                "dx has {} values but x has {}",
                dx.len(),
                x.len()
            )));
        }
        let p = self.n_terms();
        let mut gtg = DMatrix::zeros(p, p);
        let mut gty = DMatrix::zeros(p, d);
        let mut feats = vec![0.0; p * CHUNK];
        let mut ys = vec![0.0; d * CHUNK];
        let mut bases = Vec::new();
        let mut first = 0;
        while first < n {
            let rows = CHUNK.min(n - first);
            let xs = &x[first * d..(first + rows) * d];
            let feats = &mut feats[..p * rows];
            self.eval_chunk(xs, rows, first, &mut bases, feats)?;
            let ys = &mut ys[..d * rows];
            for (r, row) in dx[first * d..(first + rows) * d]
                .chunks_exact(d)
                .enumerate()
            {
                for (i, &v) in row.iter().enumerate() {
                    ys[i * rows + r] = v;
                }
            }
            if !all_finite(ys) {
                let k = ys.iter().position(|v| !v.is_finite()).unwrap_or(0);
                return Err(SindyError::Shape(format!(
                    "dx[{}] of sample {} is not finite ({})",
                    k / rows,
                    first + k % rows,
                    ys[k]
                )));
            }
            for a in 0..p {
                let ca = &feats[a * rows..(a + 1) * rows];
                for b in a..p {
                    gtg[(a, b)] += dot(ca, &feats[b * rows..(b + 1) * rows]);
                }
                for i in 0..d {
                    gty[(a, i)] += dot(ca, &ys[i * rows..(i + 1) * rows]);
                }
            }
            first += rows;
        }
        for a in 0..p {
            for b in 0..a {
                gtg[(a, b)] = gtg[(b, a)];
            }
        }
        Ok(Gram { gtg, gty, n })
    }
}

/// Checks every value is finite; written branch-free so it vectorizes.
#[inline]
fn all_finite(v: &[f64]) -> bool {
    let mut acc = [0.0f64; 4];
    let chunks = v.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..4 {
            acc[k] += c[k] * 0.0;
        }
    }
    let tail: f64 = rest.iter().map(|x| x * 0.0).sum();
    (acc[0] + acc[1] + acc[2] + acc[3] + tail) == 0.0
}

/// Dot product with eight independent accumulators (vectorizable, and more accurate than one).
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}

fn check_names(names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Err(SindyError::Shape(
            "a library needs at least one state".into(),
        ));
    }
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() || n.chars().any(|c| c.is_whitespace() || "()+*^,".contains(c)) {
            return Err(SindyError::Shape(format!(
                "state name `{n}` is empty or contains whitespace or one of ()+*^,"
            )));
        }
        if names[..i].contains(n) {
            return Err(SindyError::Shape(format!("state name `{n}` appears twice")));
        }
    }
    Ok(())
}

fn dedup(terms: Vec<Term>) -> Vec<Term> {
    let mut out: Vec<Term> = Vec::with_capacity(terms.len());
    for t in terms {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

fn product(a: &[Term], b: &[Term]) -> Vec<Term> {
    dedup(
        a.iter()
            .flat_map(|s| b.iter().map(move |t| s.mul(t)))
            .collect(),
    )
}

/// Monomials of degree 1..=k over d states, by degree, each in `i ≤ j ≤ ...` index order.
fn monomials(d: usize, k: u32) -> Vec<Term> {
    let mut out = Vec::new();
    for deg in 1..=k {
        let mut idx = vec![0usize; deg as usize];
        loop {
            out.push(Term::new(idx.iter().map(|&s| Factor::new(Func::Id, s, 1))));
            // next non-decreasing index tuple
            let mut pos = idx.len();
            while pos > 0 && idx[pos - 1] == d - 1 {
                pos -= 1;
            }
            if pos == 0 {
                break;
            }
            let v = idx[pos - 1] + 1;
            for slot in &mut idx[pos - 1..] {
                *slot = v;
            }
        }
    }
    out
}

mod parse {
    //! Recursive-descent parser of library specs.

    use super::super::{Result, SindyError};
    use super::{monomials, product, Factor, Func, Term, MAX_DEGREE};

    #[derive(Clone, Debug, PartialEq)]
    enum Tok {
        Num(String),
        Ident(String),
        LParen,
        RParen,
        Plus,
        Star,
        Bad(char),
    }

    impl Tok {
        fn text(&self) -> String {
            match self {
                Tok::Num(s) | Tok::Ident(s) => s.clone(),
                Tok::LParen => "(".into(),
                Tok::RParen => ")".into(),
                Tok::Plus => "+".into(),
                Tok::Star => "*".into(),
                Tok::Bad(c) => c.to_string(),
            }
        }
    }

    fn lex(spec: &str) -> Vec<(Tok, usize)> {
        let chars: Vec<char> = spec.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let col = i + 1;
            if c.is_whitespace() {
                i += 1;
                continue;
            }
            let take = |pred: fn(char) -> bool, i: &mut usize| {
                let s = *i;
                while *i < chars.len() && pred(chars[*i]) {
                    *i += 1;
                }
                chars[s..*i].iter().collect::<String>()
            };
            let tok = if c.is_ascii_digit() {
                Tok::Num(take(|c| c.is_ascii_alphanumeric() || c == '.', &mut i))
            } else if c.is_alphabetic() || c == '_' {
                Tok::Ident(take(|c| c.is_alphanumeric() || c == '_', &mut i))
            } else {
                i += 1;
                match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '+' => Tok::Plus,
                    '*' => Tok::Star,
                    other => Tok::Bad(other),
                }
            };
            out.push((tok, col));
        }
        out
    }

    struct Parser<'a> {
        spec: &'a str,
        toks: Vec<(Tok, usize)>,
        pos: usize,
        d: usize,
    }

    const EXPECTED: &str = "expected 1, x, poly(k), sin(x), cos(x), exp(x) or (";

    impl Parser<'_> {
        fn err(&self, message: String) -> SindyError {
            SindyError::Spec {
                spec: self.spec.to_string(),
                message,
            }
        }

        fn unexpected(&self, expected: &str) -> SindyError {
            match self.toks.get(self.pos) {
                Some((t, col)) => self.err(format!(
                    "unexpected `{}` at column {col} ({expected})",
                    t.text()
                )),
                None => self.err(format!("unexpected end of spec ({expected})")),
            }
        }

        fn peek(&self) -> Option<&Tok> {
            self.toks.get(self.pos).map(|(t, _)| t)
        }

        fn expect(&mut self, tok: Tok, what: &str) -> Result<()> {
            if self.peek() == Some(&tok) {
                self.pos += 1;
                Ok(())
            } else {
                Err(self.unexpected(&format!("expected {what}")))
            }
        }

        fn expr(&mut self) -> Result<Vec<Term>> {
            let mut terms = self.prod()?;
            while self.peek() == Some(&Tok::Plus) {
                self.pos += 1;
                terms.extend(self.prod()?);
            }
            Ok(terms)
        }

        fn prod(&mut self) -> Result<Vec<Term>> {
            let mut terms = self.primary()?;
            while self.peek() == Some(&Tok::Star) {
                self.pos += 1;
                let rhs = self.primary()?;
                terms = product(&terms, &rhs);
            }
            Ok(terms)
        }

        fn primary(&mut self) -> Result<Vec<Term>> {
            let Some((tok, col)) = self.toks.get(self.pos).cloned() else {
                return Err(self.unexpected(EXPECTED));
            };
            match tok {
                Tok::Num(s) if s == "1" => {
                    self.pos += 1;
                    Ok(vec![Term::constant()])
                }
                Tok::LParen => {
                    self.pos += 1;
                    let t = self.expr()?;
                    self.expect(Tok::RParen, ")")?;
                    Ok(t)
                }
                Tok::Ident(s) if s == "x" => {
                    self.pos += 1;
                    Ok(self.per_state(Func::Id))
                }
                Tok::Ident(s) if matches!(s.as_str(), "sin" | "cos" | "exp") => {
                    self.pos += 1;
                    self.expect(Tok::LParen, "(")?;
                    self.expect(Tok::Ident("x".into()), "x")?;
                    self.expect(Tok::RParen, ")")?;
                    let f = match s.as_str() {
                        "sin" => Func::Sin,
                        "cos" => Func::Cos,
                        _ => Func::Exp,
                    };
                    Ok(self.per_state(f))
                }
                Tok::Ident(s) if s == "poly" => {
                    self.pos += 1;
                    self.expect(Tok::LParen, "(")?;
                    let k = match self.peek() {
                        Some(Tok::Num(k)) => k.parse::<u32>().ok(),
                        _ => None,
                    };
                    match k {
                        Some(k) if (1..=MAX_DEGREE).contains(&k) => {
                            self.pos += 1;
                            self.expect(Tok::RParen, ")")?;
                            Ok(monomials(self.d, k))
                        }
                        _ => Err(self.unexpected(&format!(
                            "poly at column {col} needs a degree from 1 to {MAX_DEGREE}"
                        ))),
                    }
                }
                _ => Err(self.unexpected(EXPECTED)),
            }
        }

        fn per_state(&self, f: Func) -> Vec<Term> {
            (0..self.d)
                .map(|s| Term::new([Factor::new(f, s, 1)]))
                .collect()
        }
    }

    /// The terms of `spec` over `d` states, in spec order (not yet deduplicated).
    pub(super) fn parse(spec: &str, d: usize) -> Result<Vec<Term>> {
        let mut p = Parser {
            spec,
            toks: lex(spec),
            pos: 0,
            d,
        };
        let terms = p.expr()?;
        if p.pos < p.toks.len() {
            return Err(p.unexpected("expected + or * or the end"));
        }
        Ok(terms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(l: &Library) -> Vec<String> {
        l.term_names()
    }

    #[test]
    fn polynomial_names_and_order() {
        let l = Library::parse("1 + poly(3)", 2).unwrap();
        assert_eq!(
            names(&l),
            ["1", "x0", "x1", "x0^2", "x0*x1", "x1^2", "x0^3", "x0^2*x1", "x0*x1^2", "x1^3"]
        );
        let l = Library::parse("poly(2)", 3).unwrap();
        assert_eq!(l.n_terms(), 9);
        assert_eq!(names(&l)[3..6], ["x0^2", "x0*x1", "x0*x2"]);
    }

    #[test]
    fn concatenation_deduplicates_and_names_use_state_names() {
        let l = Library::parse("1 + x + poly(2) + 1 + sin(x) + cos(x) + exp(x)", 2)
            .unwrap()
            .with_state_names(vec!["theta".into(), "omega".into()])
            .unwrap();
        assert_eq!(
            names(&l),
            [
                "1",
                "theta",
                "omega",
                "theta^2",
                "theta*omega",
                "omega^2",
                "sin(theta)",
                "sin(omega)",
                "cos(theta)",
                "cos(omega)",
                "exp(theta)",
                "exp(omega)"
            ]
        );
        let a = Library::parse("1 + x", 2).unwrap();
        let b = Library::parse("1 + exp(x)", 2).unwrap();
        assert_eq!(
            names(&a.concat(&b).unwrap()),
            ["1", "x0", "x1", "exp(x0)", "exp(x1)"]
        );
    }

    #[test]
    fn tensor_product() {
        let l = Library::parse("poly(2) * sin(x)", 1).unwrap();
        assert_eq!(names(&l), ["x0*sin(x0)", "x0^2*sin(x0)"]);
        let l = Library::parse("(1 + x) * (1 + sin(x))", 2).unwrap();
        assert_eq!(
            names(&l),
            [
                "1",
                "sin(x0)",
                "sin(x1)",
                "x0",
                "x0*sin(x0)",
                "x0*sin(x1)",
                "x1",
                "x1*sin(x0)",
                "x1*sin(x1)"
            ]
        );
        let a = Library::parse("x", 2).unwrap();
        let t = a.tensor(&a).unwrap();
        assert_eq!(names(&t), ["x0^2", "x0*x1", "x1^2"]);
        let s = Library::parse("sin(x) * sin(x)", 1).unwrap();
        assert_eq!(names(&s), ["sin(x0)^2"]);
    }

    #[test]
    fn bad_specs_name_the_token() {
        let cases = [
            ("1 + tan(x)", "`tan`"),
            ("1 + poly(0)", "`0`"),
            ("1 + poly(x)", "`x`"),
            ("1 + ", "end of spec"),
            ("1 + x)", "`)`"),
            ("2 + x", "`2`"),
            ("sin(y)", "`y`"),
            ("x ; 1", "`;`"),
        ];
        for (spec, token) in cases {
            let e = Library::parse(spec, 2).unwrap_err().to_string();
            assert!(e.contains(token), "{spec}: {e}");
            assert!(e.contains(spec), "{spec}: {e}");
        }
    }

    #[test]
    fn evaluate_matches_point_values() {
        let l = Library::parse("1 + poly(2) * (1 + sin(x)) + cos(x) + exp(x)", 2).unwrap();
        let x = [0.3, -1.2, 2.0, 0.5, -0.7, 0.1];
        let th = l.evaluate(&x).unwrap();
        assert_eq!(th.shape(), (3, l.n_terms()));
        let mut row = vec![0.0; l.n_terms()];
        for s in 0..3 {
            l.eval_point(&x[2 * s..2 * s + 2], &mut row);
            for j in 0..l.n_terms() {
                assert!((th[(s, j)] - row[j]).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn jacobian_matches_finite_differences() {
        let l = Library::parse("1 + poly(3) + poly(2) * (sin(x) + cos(x)) + exp(x)", 3).unwrap();
        let x = [0.4, -0.9, 1.3];
        let jac = l.jacobian(&x);
        let h = 1e-6;
        let p = l.n_terms();
        let (mut fp, mut fm) = (vec![0.0; p], vec![0.0; p]);
        for s in 0..3 {
            let mut xp = x;
            let mut xm = x;
            xp[s] += h;
            xm[s] -= h;
            l.eval_point(&xp, &mut fp);
            l.eval_point(&xm, &mut fm);
            for j in 0..p {
                let fd = (fp[j] - fm[j]) / (2.0 * h);
                assert!((fd - jac[(j, s)]).abs() < 1e-6, "term {j} state {s}");
            }
        }
    }

    #[test]
    fn non_finite_features_name_term_and_sample() {
        let l = Library::parse("1 + x + exp(x)", 2).unwrap();
        let x = [0.0, 1.0, 0.5, 800.0];
        let e = l.evaluate(&x).unwrap_err().to_string();
        assert!(e.contains("`exp(x1)`") && e.contains("sample 1"), "{e}");
        let mut x = vec![0.1; 2 * 1500];
        x[2 * 1234] = f64::NAN;
        let e = l.gram(&x, &x).unwrap_err().to_string();
        assert!(e.contains("`x0`") && e.contains("sample 1234"), "{e}");
    }

    #[test]
    fn gram_matches_dense_products() {
        let l = Library::parse("1 + poly(2) + sin(x)", 2).unwrap();
        let n = 1100;
        let x: Vec<f64> = (0..2 * n)
            .map(|i| ((i * 37 % 101) as f64) / 50.0 - 1.0)
            .collect();
        let dx: Vec<f64> = x.iter().map(|v| v * v - 0.3).collect();
        let g = l.gram(&x, &dx).unwrap();
        let th = l.evaluate(&x).unwrap();
        let y = DMatrix::from_row_slice(n, 2, &dx);
        assert!((th.transpose() * &th - &g.gtg).amax() < 1e-9);
        assert!((th.transpose() * y - &g.gty).amax() < 1e-9);
        assert_eq!(g.n, n);
    }

    #[test]
    fn serde_round_trip() {
        let l = Library::parse("1 + poly(2) * cos(x)", 2).unwrap();
        let s = serde_json::to_string(&l).unwrap();
        let back: Library = serde_json::from_str(&s).unwrap();
        assert_eq!(back.term_names(), l.term_names());
        assert_eq!(back.spec(), "1 + poly(2) * cos(x)");
    }
}
