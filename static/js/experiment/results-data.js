// Pure shaping of an experiment's results (GET .../experiments/{id}/results) for the class plot:
// one point per finished run, each value's mean and min–max, the viewer's own run, the runs that
// failed or were cancelled, and the text that describes it all. No DOM, no plotly: tested by node.
import { num } from '../format.js';

// Four significant digits, as the server's summary: runs of a small model often differ only in the fourth.
export const fmt = (x) => num(x, 4);

// Measures the backend computes from a run's events; unknown names read as their own words.
const MEASURE_LABELS = {
  eval_loss: 'held-out loss',
  final_eval_loss: 'held-out loss',
  metric: 'task metric',
  accuracy: 'accuracy',
  effective_rank: 'effective rank of ΔW',
  trainable_params: 'trainable parameters',
  trainable_pct: 'trainable share (%)',
  peak_memory_mb: 'peak memory (MB)',
  wall_s: 'wall time (s)',
  degenerate: 'looping replies (share)',
};

export function measureLabel(name) {
  return MEASURE_LABELS[name] || String(name).replaceAll('_', ' ');
}

// A setting as one readable key, as the server labels values: 8 → "8", ["q_proj", "v_proj"] → "q_proj+v_proj".
export function valueKey(value) {
  if (Array.isArray(value)) return value.map(valueKey).join('+');
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

// A run's setting is the variable's value, or an object holding it ({rank: 8}).
export function settingValue(setting, variable) {
  if (setting !== null && typeof setting === 'object' && !Array.isArray(setting)) {
    if (variable && variable in setting) return setting[variable];
    const keys = Object.keys(setting);
    if (keys.length === 1) return setting[keys[0]];
  }
  return setting;
}

// The series a run belongs to (e.g. "LoRA" or "full" in a learning-rate sweep of both); '' for none.
export function seriesOf(run) {
  return String(run.series ?? run.group ?? '');
}

const FINISHED = new Set(['done', 'failed', 'cancelled']);

function isOwn(run, own) {
  if (!own) return false;
  return (own.cellId != null && run.cell_id === own.cellId) || (own.jobId != null && run.job_id === own.jobId);
}

// The server marks the viewer's run (mine); a solo learner's run is known by its job.
function isMine(run, own) {
  return run.mine === true || isOwn(run, own);
}

// Spreads the points of one value a little sideways so replicates never hide each other.
function jitter(i, n) {
  if (n <= 1) return 0;
  const width = Math.min(0.16, 0.05 * (n - 1));
  return -width / 2 + (width * i) / (n - 1);
}

// Several series: each sits at its own offset around the value's position.
function seriesOffset(i, n) {
  return n <= 1 ? 0 : -0.15 + (0.3 * i) / (n - 1);
}

// results: the API's answer; options: {measure, variable, values (the experiment's order), own: {cellId, jobId}}.
export function shapeResults(results, { measure, variable = null, values = null, own = null } = {}) {
  const runs = (results && results.runs) || [];
  const keys = [];
  const addKey = (value) => {
    const key = valueKey(value);
    if (!keys.includes(key)) keys.push(key);
    return key;
  };
  for (const value of values || results?.values || []) addKey(value);
  const rows = runs.map((run) => ({
    run, key: addKey(run.value !== undefined ? run.value : settingValue(run.setting, variable)), series: seriesOf(run),
  }));
  const series = [...new Set(rows.map((r) => r.series))];
  if (!series.length) series.push('');
  const index = new Map(keys.map((k, i) => [k, i]));
  const at = (key, name) => index.get(key) + seriesOffset(series.indexOf(name), series.length);

  const measured = (run) => run.state === 'done' && Number.isFinite(run.measures?.[measure]);
  const points = [];
  const groups = [];
  for (const name of series) {
    for (const key of keys) {
      const group = rows.filter((r) => r.key === key && r.series === name && measured(r.run));
      const ys = group.map(({ run }) => run.measures[measure]);
      group.forEach(({ run }, i) => points.push({
        x: at(key, name) + jitter(i, group.length), y: run.measures[measure], key, series: name, seed: run.seed,
        own: isMine(run, own), jobId: run.job_id, cellId: run.cell_id,
      }));
      if (!ys.length) continue;
      groups.push({
        key, series: name, x: at(key, name), n: ys.length,
        mean: ys.reduce((a, b) => a + b, 0) / ys.length, min: Math.min(...ys), max: Math.max(...ys),
      });
    }
  }
  // Ended without a number for this measure: failed, cancelled (or done but unmeasured).
  const missing = rows.filter(({ run }) => FINISHED.has(run.state) && !measured(run))
    .map(({ run, key, series: name }) => ({ x: at(key, name), key, series: name, state: run.state, seed: run.seed, own: isMine(run, own), jobId: run.job_id }));
  const waiting = rows.filter(({ run }) => !FINISHED.has(run.state)).length;
  const ownRow = rows.find(({ run }) => isMine(run, own));
  const ownRun = ownRow ? {
    key: ownRow.key, series: ownRow.series, seed: ownRow.run.seed, state: ownRow.run.state,
    value: measured(ownRow.run) ? ownRow.run.measures[measure] : null,
  } : null;
  return { measure, variable, keys, series, points, groups, missing, waiting, total: runs.length, ownRun };
}

// The plot's text alternative: what was measured, per value, and where the viewer's run landed.
export function describeResults(shaped, { measureText = measureLabel(shaped.measure), variable = shaped.variable || 'setting' } = {}) {
  const parts = [];
  const failed = shaped.missing.filter((m) => m.state !== 'done');
  parts.push(`${measureText} against ${variable}: ${shaped.points.length} finished run${shaped.points.length === 1 ? '' : 's'}`
    + ` of ${shaped.total}${failed.length ? `, ${failed.length} failed or cancelled` : ''}`
    + `${shaped.waiting ? `, ${shaped.waiting} still to finish` : ''}.`);
  const at = (g) => `${g.series ? `${g.series}, ` : ''}${variable} ${g.key}`;
  for (const g of shaped.groups) {
    parts.push(g.n === 1
      ? `${at(g)}: ${fmt(g.mean)} (1 run).`
      : `${at(g)}: mean ${fmt(g.mean)}, from ${fmt(g.min)} to ${fmt(g.max)} (${g.n} runs).`);
  }
  if (shaped.groups.length > 1) {
    const low = shaped.groups.reduce((a, b) => (b.mean < a.mean ? b : a));
    const high = shaped.groups.reduce((a, b) => (b.mean > a.mean ? b : a));
    parts.push(`Lowest mean at ${at(low)}, highest at ${at(high)}.`);
  }
  const own = shaped.ownRun;
  if (own) {
    const where = `${at(own)}, seed ${own.seed}`;
    if (own.value != null) parts.push(`Your run (${where}): ${fmt(own.value)}.`);
    else if (own.state === 'failed' || own.state === 'cancelled') parts.push(`Your run (${where}) ${own.state}.`);
    else parts.push(`Your run (${where}) has not finished yet.`);
  }
  return parts.join(' ');
}
