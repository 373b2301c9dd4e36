// Soft-prompt vectors in a 3D PCA of the token embeddings: grey dots are real tokens, the
// coloured points are the trained virtual tokens, each labelled with its nearest real token,
// with a trail showing where it has moved since training began.
import { Chart } from './base.js';
import { COLORS } from '../palette.js';

const TRAIL_COLORS = [COLORS.orange, COLORS.blue, COLORS.vermillion, COLORS.green, COLORS.purple, COLORS.sky, COLORS.black, COLORS.yellow];

// The scene's opening view (plotly's camera: the eye looks at the centre, z up).
const VIEW = { eye: { x: 1.5, y: 1.5, z: 0.8 }, center: { x: 0, y: 0, z: -0.32 } };

// Where a point lands on the screen, roughly: seen along the camera's line of sight (orthographic), in
// the scene's proportions (plotly's aspectmode 'auto': the data's own, unless one axis is over four
// times another, then a cube), in shares of the longest side.
function viewPlane(eye) {
  const unit = (v) => v.map((c) => c / Math.hypot(...v));
  const back = unit([eye.x, eye.y, eye.z]); // from the scene towards the eye
  const right = unit([-back[1], back[0], 0]); // up (z) × back
  const up = [back[1] * right[2] - back[2] * right[1], back[2] * right[0] - back[0] * right[2], back[0] * right[1] - back[1] * right[0]];
  return (p) => [right, up].map((axis) => axis[0] * p[0] + axis[1] * p[1] + axis[2] * p[2]);
}

// Which points get a text label: greedily, a point is labelled when its label clears every label kept
// before it on screen: apart sideways by the two half-widths (`perChar` a character) or up and down by
// more than a line (`line`), both in shares of the longest side (about 400 px in the lesson's 1000 px
// wide plot). The rest show on hover and in the caption.
export function spacedOut(points, cloud = [], labels = points.map(() => ''), { eye = VIEW.eye, perChar = 0.02, line = 0.045 } = {}) {
  const all = points.concat(cloud);
  const low = [0, 1, 2].map((a) => Math.min(...all.map((p) => p[a])));
  const extent = [0, 1, 2].map((a) => (Math.max(...all.map((p) => p[a])) - low[a]) || 1);
  const cube = Math.max(...extent) > 4 * Math.min(...extent);
  const side = extent.map((e) => (cube ? e : Math.max(...extent)));
  const onScreen = viewPlane(eye);
  const kept = [];
  return points.map((p, i) => {
    const [x, y] = onScreen([0, 1, 2].map((a) => (p[a] - low[a]) / side[a]));
    const half = ((labels[i].length + 2) * perChar) / 2;
    const clear = kept.every((q) => Math.abs(x - q.x) >= half + q.half || Math.abs(y - q.y) >= line);
    if (clear) kept.push({ x, y, half });
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
    const shown = spacedOut(g.points, this.vocab ? this.vocab.vocab_points : [], labels);
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
        camera: VIEW, // see spectrum3d.js
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
