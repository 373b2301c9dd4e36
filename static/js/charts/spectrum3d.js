// The singular values of ΔW as a surface: layer × singular-value index × magnitude,
// with each layer's effective rank (90% of ||ΔW||²_F) marked. A low-rank ΔW is a ridge
// at the front edge; a full-rank one is a slope that runs the whole width.
import { Chart } from './base.js';
import { COLORS, SURFACE_SCALE } from '../palette.js';
import { num } from '../format.js';
import { groupByLayer, shortName } from '../spectrum-rows.js';

export { shortName };

const MAX_INDEX = 128; // the values sent per layer; full fine-tuning's effective ranks reach far past 48
const MAX_ROWS = 16; // more rows than this cannot be told apart in a plot this size

export class Spectrum3D extends Chart {
  constructor(container, { title = 'ΔW spectrum', height = 420, normalise = false } = {}) {
    super(container, { label: `${title}: 3D surface of singular values per layer`, height });
    this.title = title;
    this.normalise = normalise;
    this.event = null;
    this.count = 0;
  }

  // One spectrum event replaces the surface (it is a snapshot of ΔW at that step).
  addPoint(event) {
    if (!event || !event.layers || !event.layers.length) return;
    this.event = event;
    this.count += 1;
    this.invalidate();
  }

  reset() {
    this.event = null;
    this.count = 0;
    this.invalidate();
  }

  setNormalise(on) {
    this.normalise = Boolean(on);
    this.invalidate();
  }

  // Rows to draw: one per transformer layer (the mean over its projections, e.g. q, k, v and o),
  // at most MAX_ROWS of them evenly spaced; the text summary covers every layer.
  rows() {
    const rows = groupByLayer(this.event.layers, this.normalise);
    if (rows.length <= MAX_ROWS) return rows;
    return Array.from({ length: MAX_ROWS }, (_, i) => rows[Math.round((i * (rows.length - 1)) / (MAX_ROWS - 1))]);
  }

  traces() {
    // Before the first event: an empty 3D trace, so Plotly draws the (empty) 3D scene, not 2D axes.
    if (!this.event) return [{ type: 'scatter3d', mode: 'markers', x: [], y: [], z: [], hoverinfo: 'skip', showlegend: false }];
    const rows = this.rows();
    const width = Math.min(MAX_INDEX, Math.max(...rows.map((r) => r.values.length)));
    const z = rows.map((r) => Array.from({ length: width }, (_, i) => r.values[i] ?? 0));
    const x = Array.from({ length: width }, (_, i) => i + 1);
    const y = rows.map((_, i) => i);
    const marks = rows.map((row, i) => {
      const k = Math.max(1, Math.min(Math.round(row.effectiveRank), width));
      return { x: k, y: i, z: z[i][k - 1] };
    });
    return [
      {
        type: 'surface', x, y, z, colorscale: SURFACE_SCALE, showscale: false, opacity: 0.95, showlegend: false,
        text: rows.map((r) => x.map(() => r.label)),
        hovertemplate: '%{text}<br>σ<sub>%{x}</sub> = %{z:.3g}<extra></extra>',
      },
      {
        type: 'scatter3d', mode: 'markers+lines', name: 'effective rank (directions holding 90% of ‖ΔW‖²)',
        showlegend: true,
        x: marks.map((m) => m.x), y: marks.map((m) => m.y), z: marks.map((m) => m.z),
        marker: { size: 4, color: COLORS.vermillion, symbol: 'diamond' },
        line: { color: COLORS.vermillion, width: 4, dash: 'dash' },
        text: rows.map((r) => `${r.label}: effective rank ${num(r.effectiveRank, 2)}`),
        hovertemplate: '%{text}<extra></extra>',
      },
    ];
  }

  layout() {
    const names = this.event ? this.rows().map((r) => r.label) : [];
    const every = Math.max(1, Math.ceil(names.length / 6)); // at most 6 labels on the layer axis
    return {
      title: { text: this.event ? `${this.title} · step ${this.event.step}` : `${this.title} · waiting for data`, font: { size: 15 } },
      margin: { l: 0, r: 0, t: 40, b: 0 },
      showlegend: Boolean(this.event),
      legend: { orientation: 'h', x: 0, y: 0, font: { size: 12 } },
      scene: {
        xaxis: { title: { text: 'index i of σᵢ' }, nticks: 6, tickfont: { size: 11 } },
        yaxis: {
          title: { text: 'layer' }, tickfont: { size: 11 },
          tickvals: names.map((_, i) => i).filter((i) => i % every === 0), ticktext: names.filter((_, i) => i % every === 0),
        },
        zaxis: { title: { text: this.normalise ? 'σ / σ₁' : 'σ' }, nticks: 5, tickfont: { size: 11 } },
        aspectratio: { x: 1, y: 1, z: 0.7 },
        // Looking at a point below the middle lifts the scene to the title (plotly centres the box, whose
        // tick labels and axis titles hang below it: a band of 100+ px above, the x title cut off below);
        // a closer, lower eye fills the width. tests/browser/test_scene_fit.py measures both.
        camera: { eye: { x: 1.35, y: -1.35, z: 0.7 }, center: { x: 0, y: 0, z: -0.3 } },
      },
    };
  }

  describe() {
    if (!this.event) return `${this.title}: no spectrum yet.`;
    const layers = this.event.layers;
    const rows = groupByLayer(layers, this.normalise);
    const drawn = this.rows();
    const ranks = layers.map((l) => l.effective_rank);
    const widths = layers.map((l) => l.num_values || l.singular_values.length);
    const mean = ranks.reduce((a, b) => a + b, 0) / ranks.length;
    const byKind = new Map();
    for (const l of layers) {
      const kind = shortName(l.name).split('·')[1] || 'all';
      if (!byKind.has(kind)) byKind.set(kind, []);
      byKind.get(kind).push(l.effective_rank);
    }
    const kinds = [...byKind].map(([kind, r]) => `${kind} ${Math.min(...r)}–${Math.max(...r)}`).join(', ');
    const pooled = rows.length < layers.length ? ` Each drawn row is one transformer layer, the mean of its ${layers.length / rows.length} matrices.` : '';
    const sampled = drawn.length < rows.length ? ` Drawn: ${drawn.length} of ${rows.length} layers, evenly spaced.` : '';
    return `${this.title} at step ${this.event.step}: ${layers.length} weight matrices; ` +
      `singular values hold 90% of the energy in ${num(mean, 2)} directions on average ` +
      `(of up to ${Math.max(...widths)} singular values, all computed). Effective rank by matrix kind: ${kinds}.${pooled}${sampled}`;
  }
}
