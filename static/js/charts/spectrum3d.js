// The singular values of ΔW as a surface: layer × singular-value index × magnitude,
// with each layer's effective rank (90% of ||ΔW||²_F) marked. A low-rank ΔW is a ridge
// at the front edge; a full-rank one is a slope that runs the whole width.
import { Chart } from './base.js';
import { COLORS, SURFACE_SCALE } from '../palette.js';
import { num } from '../format.js';

const MAX_INDEX = 128; // the values sent per layer; full fine-tuning's effective ranks reach far past 48

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

  grid() {
    const layers = this.event.layers;
    const width = Math.min(MAX_INDEX, Math.max(...layers.map((l) => l.singular_values.length)));
    const z = layers.map((layer) => {
      const top = layer.singular_values[0] || 1;
      const row = [];
      for (let i = 0; i < width; i += 1) {
        const v = layer.singular_values[i];
        row.push(v === undefined ? 0 : this.normalise ? v / top : v);
      }
      return row;
    });
    return { width, z };
  }

  traces() {
    // Before the first event: an empty 3D trace, so Plotly draws the (empty) 3D scene, not 2D axes.
    if (!this.event) return [{ type: 'scatter3d', mode: 'markers', x: [], y: [], z: [], hoverinfo: 'skip', showlegend: false }];
    const { width, z } = this.grid();
    const layers = this.event.layers;
    const x = Array.from({ length: width }, (_, i) => i + 1);
    const y = layers.map((_, i) => i);
    const marks = layers.map((layer, i) => {
      const k = Math.max(1, Math.min(layer.effective_rank, width));
      return { x: k, y: i, z: z[i][k - 1] };
    });
    return [
      {
        type: 'surface', x, y, z, colorscale: SURFACE_SCALE, showscale: false, opacity: 0.95,
        hovertemplate: 'layer %{y}<br>σ<sub>%{x}</sub> = %{z:.3g}<extra></extra>',
        contours: { x: { show: true, color: 'rgba(0,0,0,0.25)', width: 1 } },
      },
      {
        type: 'scatter3d', mode: 'markers+lines', name: 'effective rank',
        x: marks.map((m) => m.x), y: marks.map((m) => m.y), z: marks.map((m) => m.z),
        marker: { size: 4, color: COLORS.vermillion, symbol: 'diamond' },
        line: { color: COLORS.vermillion, width: 4, dash: 'dash' },
        text: layers.map((l) => `${l.name}: effective rank ${l.effective_rank}`),
        hovertemplate: '%{text}<extra></extra>',
      },
    ];
  }

  layout() {
    const names = this.event ? this.event.layers.map((l) => shortName(l.name)) : [];
    return {
      title: { text: this.event ? `${this.title} · step ${this.event.step}` : `${this.title} · waiting for data`, font: { size: 15 } },
      margin: { l: 0, r: 0, t: 40, b: 0 },
      showlegend: false,
      scene: {
        xaxis: { title: { text: 'index i of σᵢ' }, nticks: 6, tickfont: { size: 11 } },
        yaxis: { title: { text: 'layer' }, tickvals: names.map((_, i) => i), ticktext: names, tickfont: { size: 10 }, nticks: 8 },
        zaxis: { title: { text: this.normalise ? 'σ / σ₁' : 'σ' }, nticks: 5, tickfont: { size: 11 } },
        aspectratio: { x: 1, y: 1, z: 0.7 },
        camera: { eye: { x: 1.6, y: -1.6, z: 0.9 } },
      },
    };
  }

  describe() {
    if (!this.event) return `${this.title}: no spectrum yet.`;
    const layers = this.event.layers;
    const ranks = layers.map((l) => l.effective_rank);
    const widths = layers.map((l) => l.num_values || l.singular_values.length);
    const mean = ranks.reduce((a, b) => a + b, 0) / ranks.length;
    const detail = layers.slice(0, 6).map((l) => `${shortName(l.name)} ${l.effective_rank}`).join(', ');
    return `${this.title} at step ${this.event.step}: ${layers.length} layers; ` +
      `singular values hold 90% of the energy in ${num(mean, 2)} directions on average ` +
      `(of up to ${Math.max(...widths)} singular values, all computed). Per layer: ${detail}${layers.length > 6 ? ', …' : ''}.`;
  }
}

// "model.layers.3.self_attn.q_proj" → "3·q": tick labels that fit a 3D axis.
export function shortName(name) {
  const m = /layers?\.(\d+)\..*?([A-Za-z_]+)$/.exec(String(name || '').replace(/\.weight$/, ''));
  return m ? `${m[1]}·${m[2].replace(/_proj$/, '')}` : String(name || '').slice(-12);
}
