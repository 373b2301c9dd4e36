// Training and held-out loss against step, one pair of series per run; log-scale toggle.
import { Chart } from './base.js';
import { COLORS, methodStyle } from '../palette.js';
import { num } from '../format.js';

export class LossChart extends Chart {
  constructor(container, options = {}) {
    super(container, { label: options.label || 'Loss against training step', height: options.height || 340, fontSize: options.fontSize });
    this.log = false;
    this.kinds = options.kinds || 'both'; // 'train', 'eval' or 'both': which curves each run draws
    this.series = new Map(); // key -> {label, method, train: {x, y}, eval: {x, y}}
  }

  ensure(key, label = key, method = null) {
    if (!this.series.has(key)) {
      this.series.set(key, { label, method, train: { x: [], y: [] }, eval: { x: [], y: [] } });
    }
    return this.series.get(key);
  }

  // kind: 'train' or 'eval'.
  addPoint(kind, step, loss, key = 'run', label = key, method = null) {
    if (!Number.isFinite(loss)) return;
    const s = this.ensure(key, label, method)[kind];
    s.x.push(step);
    s.y.push(loss);
    this.invalidate();
  }

  reset(key) {
    if (key === undefined) this.series.clear();
    else this.series.delete(key);
    this.invalidate();
  }

  setLogScale(on) {
    this.log = Boolean(on);
    this.invalidate();
  }

  setKinds(kinds) {
    this.kinds = kinds;
    this.invalidate();
  }

  traces() {
    const traces = [];
    const several = this.series.size > 1;
    const showTrain = this.kinds !== 'eval';
    const showEval = this.kinds !== 'train';
    for (const [key, s] of this.series) {
      const style = s.method ? methodStyle(s.method) : { color: COLORS.blue, dash: 'solid' };
      // Several runs: one legend entry per run (train and held-out toggle together); a recorded
      // run thin and faded, a live one thick, so the two never look alike in the same colour.
      const recorded = String(key).startsWith('recorded-');
      const width = several ? (recorded ? 1.5 : 4) : 2;
      const opacity = several && recorded ? 0.7 : 1;
      if (showTrain) traces.push({
        type: 'scatter', mode: 'lines', name: several ? s.label : 'train', x: s.train.x, y: s.train.y,
        legendgroup: key, opacity,
        line: { color: style.color, dash: several ? style.dash : 'solid', width },
      });
      if (showEval) traces.push({
        type: 'scatter', mode: 'lines+markers', name: several ? `${s.label} held-out` : 'held-out', x: s.eval.x, y: s.eval.y,
        legendgroup: key, showlegend: !several || !showTrain, opacity,
        line: { color: several ? style.color : COLORS.vermillion, dash: 'dot', width },
        marker: { symbol: several ? style.symbol : 'diamond', size: recorded ? 7 : 10 },
      });
    }
    return traces;
  }

  layout() {
    return {
      // automargin: with a large font (presenter, projector) the titles move out past the tick labels
      xaxis: { title: { text: 'step', standoff: 8 }, zeroline: false, automargin: true },
      yaxis: { title: { text: 'loss', standoff: 8 }, type: this.log ? 'log' : 'linear', automargin: true },
      // Many runs: legend at the side, so it never sits on the axis title.
      legend: this.series.size > 1 ? { orientation: 'v', x: 1.02, y: 1 } : { orientation: 'h', y: -0.3 },
      margin: { l: 60, r: 20, t: 20, b: this.series.size > 1 ? 50 : 90 },
    };
  }

  describe() {
    if (!this.series.size) return 'No loss recorded yet.';
    const parts = this.series.size > 1 ? ['Lines: training loss; dotted with markers: held-out loss; thin: recorded runs, thick: live runs.'] : [];
    for (const s of this.series.values()) {
      const t = s.train;
      const e = s.eval;
      if (!t.x.length && !e.x.length) continue;
      let text = `${s.label}: `;
      if (t.x.length) text += `train loss ${num(t.y[0])} at step ${t.x[0]} → ${num(t.y[t.y.length - 1])} at step ${t.x[t.x.length - 1]}`;
      if (e.x.length) text += `; held-out ${num(e.y[0])} → ${num(e.y[e.y.length - 1])}`;
      parts.push(`${text}.`);
    }
    return parts.join(' ') || 'No loss recorded yet.';
  }
}
