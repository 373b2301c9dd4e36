// Soft-prompt vectors in a 3D PCA of the token embeddings: grey dots are real tokens, the
// coloured points are the trained virtual tokens, each labelled with its nearest real token,
// with a trail showing where it has moved since training began.
import { Chart } from './base.js';
import { COLORS } from '../palette.js';

const TRAIL_COLORS = [COLORS.orange, COLORS.blue, COLORS.vermillion, COLORS.green, COLORS.purple, COLORS.sky, COLORS.black, COLORS.yellow];

// Which points get a text label: greedily, a point is labelled when it lies at least `gap` (a share
// of the cloud's extent on each axis) from every point labelled before it; the rest show on hover.
export function spacedOut(points, cloud = [], gap = 0.4) {
  const all = points.concat(cloud);
  const extent = [0, 1, 2].map((a) => (Math.max(...all.map((p) => p[a])) - Math.min(...all.map((p) => p[a]))) || 1);
  const kept = [];
  return points.map((p) => {
    const clear = kept.every((q) => Math.hypot(...[0, 1, 2].map((a) => (p[a] - q[a]) / extent[a])) >= gap);
    if (clear) kept.push(p);
    return clear;
  });
}

export class SoftPrompt3D extends Chart {
  constructor(container, { height = 440 } = {}) {
    super(container, { label: 'Soft-prompt vectors among token embeddings, 3D PCA', height });
    this.reset();
  }

  reset() {
    this.history = []; // [{step, geometry}]
    this.vocab = null;
    this.invalidate();
  }

  addPoint(event) {
    const geometry = event && event.soft_prompt;
    if (!geometry || !geometry.points || !geometry.points.length) return;
    if (geometry.vocab_points && geometry.vocab_points.length) this.vocab = geometry;
    this.history.push({ step: event.step, geometry });
    this.invalidate();
  }

  get latest() {
    return this.history[this.history.length - 1];
  }

  traces() {
    const traces = [];
    if (this.vocab) {
      const v = this.vocab.vocab_points;
      traces.push({
        type: 'scatter3d', mode: 'markers', name: 'real tokens',
        x: v.map((p) => p[0]), y: v.map((p) => p[1]), z: v.map((p) => p[2]),
        text: this.vocab.vocab_tokens, hovertemplate: 'token %{text}<extra></extra>',
        marker: { size: 2, color: COLORS.grey, opacity: 0.45 },
      });
    }
    if (!this.latest) return traces;
    const count = this.latest.geometry.points.length;
    for (let i = 0; i < count; i += 1) {
      const path = this.history.map((h) => h.geometry.points[i]).filter(Boolean);
      const color = TRAIL_COLORS[i % TRAIL_COLORS.length];
      traces.push({
        type: 'scatter3d', mode: 'lines', showlegend: false, hoverinfo: 'skip',
        x: path.map((p) => p[0]), y: path.map((p) => p[1]), z: path.map((p) => p[2]),
        line: { color, width: 3, dash: i % 2 ? 'dash' : 'solid' },
      });
    }
    const g = this.latest.geometry;
    const labels = g.points.map((_, i) => `v${i + 1} ≈ ${displayToken(g.nearest_tokens[i]?.[0])}`);
    const shown = spacedOut(g.points, this.vocab ? this.vocab.vocab_points : []);
    traces.push({
      type: 'scatter3d', mode: 'markers+text', name: 'virtual tokens',
      x: g.points.map((p) => p[0]), y: g.points.map((p) => p[1]), z: g.points.map((p) => p[2]),
      // Labels only where they do not pile on another label; every point keeps its hover text, and
      // the caption below names them all.
      text: labels.map((t, i) => (shown[i] ? t : '')), hovertext: labels, hoverinfo: 'text',
      textposition: 'top center', textfont: { size: 13 },
      marker: { size: 6, color: g.points.map((_, i) => TRAIL_COLORS[i % TRAIL_COLORS.length]), symbol: 'diamond', line: { color: '#000', width: 1 } },
    });
    return traces;
  }

  layout() {
    const step = this.latest ? this.latest.step : null;
    return {
      title: { text: step === null ? 'Soft prompt · waiting for data' : `Soft prompt · step ${step}`, font: { size: 15 } },
      margin: { l: 0, r: 0, t: 40, b: 0 },
      legend: { orientation: 'h', y: 0 },
      scene: {
        xaxis: { title: { text: 'PC 1' } }, yaxis: { title: { text: 'PC 2' } }, zaxis: { title: { text: 'PC 3' } },
        camera: { eye: { x: 1.5, y: 1.5, z: 0.8 }, center: { x: 0, y: 0, z: -0.2 } }, // see spectrum3d.js
      },
    };
  }

  describe() {
    if (!this.latest) return 'No soft-prompt geometry yet (it comes from prompt-tuning runs).';
    const g = this.latest.geometry;
    const near = g.nearest_tokens.map((tokens, i) => `v${i + 1} near ${tokens.slice(0, 3).map(displayToken).join(' / ')} (norm ${g.norms[i]?.toFixed(2)})`);
    return `Step ${this.latest.step}: ${g.points.length} virtual tokens. ${near.join('; ')}.`;
  }
}

// Tokenizers mark a leading space with Ġ or ▁; show it as a visible space marker.
export function displayToken(token) {
  if (token == null) return '?';
  return JSON.stringify(String(token).replace(/^[Ġ▁]/, '␣'));
}
