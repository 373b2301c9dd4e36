// LoRA explorer: sliders for d and r; W, ΔW, B and A drawn as slabs at their true proportions;
// live parameter counts; and how well a rank-r product approximates a ΔW: by default a real one,
// a sample of the recorded full fine-tuning run's update (static/data/full-delta.json, written by
// scripts/export_delta.py), with the whole matrix's energy kept at rank r from its singular values.
import { h, slider, choice } from './dom.js';
import { Chart } from './charts/base.js';
import { COLORS, SURFACE_SCALE } from './palette.js';
import { exampleMatrix, svd, lowRank, truncationError, loraCounts } from './linalg.js';
import { int, pct } from './format.js';
import { getNumber, getParam, setParams } from './url.js';

const D_CHOICES = [256, 512, 1024, 2048, 4096, 8192];
const EXAMPLE_N = 48;
const REAL_URL = new URL('../data/full-delta.json', import.meta.url);

// The real ΔW: {layer, shape, lr, steps, singular_values (all), sample (48×48), sample_every}; null if absent.
async function loadReal() {
  try {
    const response = await fetch(REAL_URL);
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

// Share of ‖ΔW‖²_F the best rank-r approximation keeps: Σ_{i≤r} σ_i² / Σ σ_i².
export function energyKept(s, r) {
  const total = s.reduce((acc, x) => acc + x * x, 0);
  return total ? s.slice(0, r).reduce((acc, x) => acc + x * x, 0) / total : 0;
}

// An axis-aligned box as mesh3d vertices + triangles (12 triangles, 8 corners).
function box([x0, x1], [y0, y1], [z0, z1], color, name) {
  const x = [x0, x1, x1, x0, x0, x1, x1, x0];
  const y = [y0, y0, y1, y1, y0, y0, y1, y1];
  const z = [z0, z0, z0, z0, z1, z1, z1, z1];
  const i = [0, 0, 4, 4, 0, 0, 1, 1, 2, 2, 3, 3];
  const j = [1, 2, 5, 6, 1, 5, 2, 6, 3, 7, 0, 4];
  const k = [2, 3, 6, 7, 5, 4, 6, 5, 7, 6, 4, 7];
  return { type: 'mesh3d', x, y, z, i, j, k, color, flatshading: true, name, hovertemplate: `${name}<extra></extra>`, showlegend: true };
}

class Blocks extends Chart {
  constructor(container, state) {
    // Shorter than its neighbour: the four slabs side by side are four times wider than deep, so a taller
    // scene only added empty space above and below them (its caption follows it instead).
    super(container, { label: 'W, ΔW, B and A drawn to scale in 3D', height: 300 });
    this.state = state;
  }

  traces() {
    const { d, r } = this.state;
    const gap = d * 0.15;
    const t = d * 0.04; // slab thickness, the same for all so areas compare
    const xB = 2 * d + 2 * gap;
    const xA = xB + r + gap;
    return [
      box([0, d], [0, d], [0, t], COLORS.grey, `W (frozen) ${d}×${d}`),
      box([d + gap, 2 * d + gap], [0, d], [0, t], COLORS.green, `ΔW = B·A ${d}×${d} (never stored)`),
      box([xB, xB + r], [0, d], [0, t * 3], COLORS.vermillion, `B ${d}×${r} (trained)`),
      box([xA, xA + d], [d - r, d], [0, t * 3], COLORS.blue, `A ${r}×${d} (trained)`),
    ].map((trace, n) => ({ ...trace, opacity: n === 1 ? 0.45 : 1 }));
  }

  layout() {
    return {
      margin: { l: 0, r: 0, t: 10, b: 0 },
      legend: { orientation: 'h', y: 0.02 },
      scene: {
        aspectmode: 'data',
        xaxis: { visible: false }, yaxis: { visible: false }, zaxis: { visible: false },
        // From above and in front, close enough that the row of slabs fills the width; aimed a little
        // left and forward of the middle, so W and A both stay in view and the slabs start under the top.
        camera: { eye: { x: 0, y: -1.4, z: 2.1 }, center: { x: -0.1, y: -0.25, z: 0 } },
      },
    };
  }

  describe() {
    const { d, r } = this.state;
    return `To scale: W and ΔW are ${d}×${d} squares; B (${d}×${r}) and A (${r}×${d}) are strips ` +
      `${(d / r).toFixed(0)} times longer than wide.`;
  }
}

class Approximation extends Chart {
  constructor(container, state) {
    super(container, { label: 'Rank-r approximation of an example ΔW, as a 3D surface', height: 380 });
    this.state = state;
  }

  traces() {
    const { approx } = this.state;
    // Opacity 0.95 as the spectrum's surface: with software WebGL gl-plot3d's opaque path drew this
    // surface at 158-183 ms a frame of a drag, its transparent path at 50-100 ms (alternating runs).
    return [{ type: 'surface', z: approx, colorscale: SURFACE_SCALE, showscale: false, opacity: 0.95, hovertemplate: 'row %{y}, col %{x}: %{z:.3g}<extra></extra>' }];
  }

  layout() {
    const rank = Math.min(this.state.r, EXAMPLE_N);
    return {
      title: { text: `best rank-${rank} B·A of ${this.state.kind === 'real' ? 'the recorded ΔW (sample)' : 'the example ΔW'}`, font: { size: 15 } },
      margin: { l: 0, r: 0, t: 40, b: 0 },
      scene: {
        xaxis: { title: { text: 'column' } }, yaxis: { title: { text: 'row' } }, zaxis: { title: { text: 'value' }, range: this.state.zRange },
        camera: { eye: { x: 1.5, y: -1.5, z: 1.0 }, center: { x: 0, y: 0, z: -0.25 } }, // see spectrum3d.js
      },
    };
  }

  describe() {
    const rank = Math.min(this.state.r, EXAMPLE_N);
    const which = this.state.kind === 'real' ? 'the 48×48 sample of the recorded ΔW' : 'the example ΔW';
    return `The best rank-${rank} product misses ${pct(100 * this.state.error)} of ${which} (relative Frobenius error).`;
  }
}

export async function mount(container) {
  const real = await loadReal();
  const asked = getParam('example');
  const state = {
    d: getNumber('d', 4096, { min: 256, max: 8192 }),
    r: getNumber('r', 16, { min: 1, max: 64 }),
    kind: ['noise', 'decaying'].includes(asked) ? asked : real ? 'real' : 'decaying',
  };
  if (!D_CHOICES.includes(state.d)) state.d = 4096;
  const decompositions = {};
  const matrixOf = (kind) => (kind === 'real' ? real.sample : exampleMatrix(EXAMPLE_N, kind));
  const decomposition = () => (decompositions[state.kind] ||= svd(matrixOf(state.kind)));

  const counts = h('div', { class: 'counts', 'aria-live': 'polite' });
  const dSlider = slider({
    label: 'width d of the weight matrix', name: 'd', min: 0, max: D_CHOICES.length - 1, value: D_CHOICES.indexOf(state.d),
    format: (i) => int(D_CHOICES[i]), onInput: (i) => update({ d: D_CHOICES[i] }),
  });
  const rSlider = slider({ label: 'LoRA rank r', name: 'r', min: 1, max: 64, value: state.r, onInput: (r) => update({ r }) });
  const options = [['decaying', 'synthetic, decaying spectrum'], ['noise', 'random noise']];
  if (real) options.unshift(['real', 'recorded full fine-tuning ΔW']);
  const example = choice({ label: 'ΔW to approximate', value: state.kind, options, onChange: (kind) => update({ kind }) });
  const plots = h('div', { class: 'plot-row' });
  const blocksEl = h('div', { class: 'plot-cell' });
  const approxEl = h('div', { class: 'plot-cell' });
  plots.append(blocksEl, approxEl);
  container.append(h('div', { class: 'controls' }, dSlider.el, rSlider.el, example.el), counts, plots);

  function recompute() {
    const dec = decomposition();
    state.error = truncationError(dec.s, state.r);
    state.approx = lowRank(dec, state.r);
    const all = dec.cols.length ? lowRank(dec, EXAMPLE_N).flat() : [0];
    state.zRange = [Math.min(...all), Math.max(...all)];
  }

  function showCounts() {
    const c = loraCounts(state.d, state.d, state.r);
    counts.replaceChildren(
      h('p', {}, 'Full update of one ', h('strong', {}, `${int(state.d)}×${int(state.d)}`), ' matrix: ',
        h('strong', { 'data-count': 'full' }, int(c.full)), ' parameters. LoRA with r = ', String(state.r), ': ',
        h('strong', { 'data-count': 'lora' }, int(c.lora)), ` (B: ${int(state.d)}×${state.r} + A: ${state.r}×${int(state.d)}) — `,
        h('strong', { 'data-count': 'ratio' }, `${c.ratio >= 10 ? int(c.ratio) : c.ratio.toFixed(1)}× fewer`), '.'),
      state.kind === 'real'
        ? h('p', {}, `ΔW of ${real.layer.replace(/\.weight$/, '')} after the recorded full fine-tuning run (lr ${real.lr}, ${real.steps} steps), a ${EXAMPLE_N}×${EXAMPLE_N} sample (every ${real.sample_every}th row and column): the best rank-${Math.min(state.r, EXAMPLE_N)} product leaves a relative error of `,
          h('strong', { 'data-count': 'error' }, pct(100 * state.error)), '. On the whole ', `${real.shape[0]}×${real.shape[1]}`, ' matrix, rank ', String(state.r), ' keeps ',
          h('strong', { 'data-count': 'energy' }, pct(100 * energyKept(real.singular_values, state.r))), ' of ‖ΔW‖²_F; 90% needs ',
          h('strong', { 'data-count': 'effective-rank' }, String(real.effective_rank)), ' singular values.')
        : h('p', {}, `On the example ΔW (${EXAMPLE_N}×${EXAMPLE_N}), the best rank-${Math.min(state.r, EXAMPLE_N)} product leaves a relative error of `,
          h('strong', { 'data-count': 'error' }, pct(100 * state.error)), state.r >= EXAMPLE_N ? ' (r ≥ 48: exact).' : '.'),
    );
  }

  const blocks = new Blocks(blocksEl, state);
  const approx = new Approximation(approxEl, state);

  function update(change) {
    Object.assign(state, change);
    if ('r' in change || 'kind' in change) recompute();
    setParams({ d: state.d, r: state.r, example: state.kind === (real ? 'real' : 'decaying') ? null : state.kind });
    showCounts();
    blocks.invalidate();
    approx.invalidate();
  }

  recompute();
  showCounts();
  blocks.invalidate();
  approx.invalidate();
  return { state, update };
}
