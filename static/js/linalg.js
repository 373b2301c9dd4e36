// The one place with hand-written maths: singular values of a small example matrix, so the
// LoRA explorer can show how well a rank-r product B·A approximates a given ΔW (Eckart–Young:
// the best rank-r error is the energy in the singular values it leaves out).

// Small deterministic PRNG (mulberry32) so the example matrix is the same on every page load.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand) {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

// An n×n example update. 'decaying': smooth rank-1 waves with weights 1/k² plus a little noise,
// the shape measured for fine-tuning updates; 'noise': i.i.d. Gaussian, which no low rank captures.
export function exampleMatrix(n = 48, kind = 'decaying', seed = 7) {
  const rand = rng(seed);
  const m = Array.from({ length: n }, () => new Float64Array(n));
  if (kind === 'noise') {
    for (let i = 0; i < n; i += 1) for (let j = 0; j < n; j += 1) m[i][j] = gaussian(rand) / Math.sqrt(n);
    return m;
  }
  for (let k = 1; k <= 12; k += 1) {
    const weight = 1 / (k * k);
    const pu = rand() * Math.PI;
    const pv = rand() * Math.PI;
    for (let i = 0; i < n; i += 1) {
      const u = Math.sin((k * Math.PI * i) / n + pu);
      for (let j = 0; j < n; j += 1) m[i][j] += weight * u * Math.cos((k * Math.PI * j) / n + pv);
    }
  }
  for (let i = 0; i < n; i += 1) for (let j = 0; j < n; j += 1) m[i][j] += 0.004 * gaussian(rand);
  return m;
}

// One-sided Jacobi SVD: rotates column pairs of a copy of A until all are orthogonal.
// Returns {s, cols, v}: s descending; cols[k] = s[k]·u_k (length rows); v[k] the right vector.
export function svd(matrix, { sweeps = 30, tol = 1e-12 } = {}) {
  const rows = matrix.length;
  const n = matrix[0].length;
  const a = Array.from({ length: n }, (_, j) => Float64Array.from(matrix, (row) => row[j]));
  const v = Array.from({ length: n }, (_, j) => {
    const col = new Float64Array(n);
    col[j] = 1;
    return col;
  });
  for (let sweep = 0; sweep < sweeps; sweep += 1) {
    let rotated = false;
    for (let p = 0; p < n - 1; p += 1) {
      for (let q = p + 1; q < n; q += 1) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < rows; i += 1) {
          alpha += a[p][i] * a[p][i];
          beta += a[q][i] * a[q][i];
          gamma += a[p][i] * a[q][i];
        }
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotate(a[p], a[q], c, s);
        rotate(v[p], v[q], c, s);
      }
    }
    if (!rotated) break;
  }
  const order = a.map((col, j) => ({ j, norm: Math.hypot(...col) })).sort((x, y) => y.norm - x.norm);
  return { s: order.map((o) => o.norm), cols: order.map((o) => a[o.j]), v: order.map((o) => v[o.j]) };
}

function rotate(x, y, c, s) {
  for (let i = 0; i < x.length; i += 1) {
    const xi = x[i];
    const yi = y[i];
    x[i] = c * xi - s * yi;
    y[i] = s * xi + c * yi;
  }
}

// Best rank-r approximation Σ_{k<r} σ_k u_k v_kᵀ (as rows × cols nested arrays).
export function lowRank({ cols, v }, r) {
  const rows = cols.length ? cols[0].length : 0;
  const n = v.length ? v[0].length : 0;
  const out = Array.from({ length: rows }, () => new Array(n).fill(0));
  for (let k = 0; k < Math.min(r, cols.length); k += 1) {
    for (let i = 0; i < rows; i += 1) {
      const ui = cols[k][i];
      for (let j = 0; j < n; j += 1) out[i][j] += ui * v[k][j];
    }
  }
  return out;
}

// Relative Frobenius error of the best rank-r approximation: √(Σ_{k≥r} σ_k²) / √(Σ σ_k²).
export function truncationError(s, r) {
  const total = s.reduce((acc, x) => acc + x * x, 0);
  const left = s.slice(r).reduce((acc, x) => acc + x * x, 0);
  return total ? Math.sqrt(left / total) : 0;
}

// Parameters a method trains for one d_out × d_in weight: full trains them all, LoRA r·(d_in + d_out).
export function loraCounts(dOut, dIn, r) {
  const full = dOut * dIn;
  const lora = r * (dIn + dOut);
  return { full, lora, ratio: full / lora };
}
