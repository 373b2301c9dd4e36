// The class result: one measure against the experiment's variable. One marker per finished run,
// each value's mean with a min–max bar, the viewer's own run as a large star, and the runs that
// failed or were cancelled as crosses along the bottom. Shapes come from experiment/results-data.js.
import { Chart } from './base.js';
import { COLORS } from '../palette.js';
import { describeResults, fmt, measureLabel, shapeResults } from '../experiment/results-data.js';

// One colour and marker per series (Okabe–Ito; the marker differs too, so colour is never alone).
const SERIES_STYLE = [
  { color: COLORS.blue, mean: COLORS.black, symbol: 'circle' },
  { color: COLORS.orange, mean: '#7a4f00', symbol: 'square' },
  { color: COLORS.green, mean: '#004d38', symbol: 'diamond' },
  { color: COLORS.purple, mean: '#6b2f57', symbol: 'triangle-up' },
];

export class ExperimentChart extends Chart {
  constructor(container, { variable = 'setting', values = [], measure = 'eval_loss', own = null, height = 360, fontSize = null, label } = {}) {
    super(container, { label: label || 'Class result', height, fontSize });
    this.variable = variable;
    this.values = values;
    this.measure = measure;
    this.own = own;
    this.runs = new Map(); // cell id (or job id) -> run
  }

  static runKey(run) {
    return run.cell_id != null ? `cell-${run.cell_id}` : `job-${run.job_id}`;
  }

  // Adds a run or replaces the one of the same cell (a run that went on from running to done).
  addPoint(run) {
    this.runs.set(ExperimentChart.runKey(run), run);
    this.invalidate();
  }

  setRuns(runs) {
    this.runs = new Map(runs.map((run) => [ExperimentChart.runKey(run), run]));
    this.invalidate();
  }

  reset() {
    this.runs.clear();
    this.invalidate();
  }

  setMeasure(measure) {
    this.measure = measure;
    this.invalidate();
  }

  setOwn(own) {
    this.own = own;
    this.invalidate();
  }

  shaped() {
    return shapeResults({ runs: [...this.runs.values()] }, {
      measure: this.measure, variable: this.variable, values: this.values, own: this.own,
    });
  }

  traces() {
    const s = this.shaped();
    const ys = s.points.map((p) => p.y);
    const low = ys.length ? Math.min(...ys) : 0;
    const span = ys.length ? Math.max(...ys) - low || Math.abs(low) || 1 : 1;
    const floor = low - 0.08 * span; // failed runs have no value: they sit under every point
    const where = (p) => `${p.series ? `${p.series}, ` : ''}${this.variable} ${p.key}`;
    const hover = (p) => `${where(p)}, seed ${p.seed}: ${fmt(p.y)}`;
    const traces = [];
    s.series.forEach((name, i) => {
      const style = SERIES_STYLE[i % SERIES_STYLE.length];
      const runs = s.points.filter((p) => p.series === name && !p.own);
      const means = s.groups.filter((g) => g.series === name);
      const suffix = name ? ` (${name})` : '';
      traces.push({
        type: 'scatter', mode: 'markers', name: `one run${suffix}`, x: runs.map((p) => p.x), y: runs.map((p) => p.y),
        text: runs.map(hover), hoverinfo: 'text', legendgroup: name,
        marker: { color: style.color, size: 10, symbol: style.symbol, line: { color: '#fff', width: 1 } },
      }, {
        type: 'scatter', mode: 'markers', name: `mean, bar from min to max${suffix}`, x: means.map((g) => g.x), y: means.map((g) => g.mean),
        text: means.map((g) => `${where(g)}: mean ${fmt(g.mean)} (${fmt(g.min)}–${fmt(g.max)}, ${g.n} run${g.n === 1 ? '' : 's'})`),
        hoverinfo: 'text', legendgroup: name,
        marker: { color: style.mean, size: 22, symbol: 'line-ew', line: { color: style.mean, width: 3 } },
        error_y: {
          type: 'data', symmetric: false, color: style.mean, thickness: 1.5, width: 6,
          array: means.map((g) => g.max - g.mean), arrayminus: means.map((g) => g.mean - g.min),
        },
      });
    });
    const mine = s.points.filter((p) => p.own);
    traces.push({
      type: 'scatter', mode: 'markers', name: 'your run', x: mine.map((p) => p.x), y: mine.map((p) => p.y),
      text: mine.map((p) => `your run: ${hover(p)}`), hoverinfo: 'text', showlegend: mine.length > 0,
      marker: { color: COLORS.vermillion, size: 20, symbol: 'star', line: { color: COLORS.black, width: 1 } },
    }, {
      type: 'scatter', mode: 'markers', name: 'failed or cancelled', x: s.missing.map((m) => m.x), y: s.missing.map(() => floor),
      text: s.missing.map((m) => `${where(m)}, seed ${m.seed}: ${m.state}`), hoverinfo: 'text',
      showlegend: s.missing.length > 0,
      marker: { color: COLORS.grey, size: 12, symbol: 'x-thin-open', line: { color: COLORS.grey, width: 2 } },
    });
    return traces;
  }

  layout() {
    const keys = this.shaped().keys;
    return {
      xaxis: {
        title: { text: this.variable }, tickmode: 'array', tickvals: keys.map((_, i) => i), ticktext: keys,
        range: [-0.5, Math.max(keys.length, 1) - 0.5], zeroline: false, automargin: true,
      },
      yaxis: { title: { text: measureLabel(this.measure) }, zeroline: false, automargin: true },
      legend: { orientation: 'h', y: -0.3, yanchor: 'top' },
      margin: { l: 70, r: 20, t: 20, b: 60 },
    };
  }

  describe() {
    return describeResults(this.shaped());
  }
}
