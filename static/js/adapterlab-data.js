// The adapter lab's data, without the DOM: which finished runs can share a base, the score table of a
// combination (the API's answer and the recorded session have the same shape), and the merge figures.
import { basePrecision, loraMethods } from './facts.js';

export const COMBINATIONS = ['linear', 'cat', 'ties', 'svd', 'ties_svd', 'dare_linear', 'dare_ties', 'magnitude_prune'];
export const PRUNING = new Set(['ties', 'ties_svd', 'dare_linear', 'dare_ties', 'magnitude_prune']);

// the LoRA methods and each one's base precision are the method specs' (facts.js)
export const precisionOf = basePrecision;

// Finished LoRA-family runs grouped by the base they need: [{key, model, precision, jobs: [...]}],
// largest group first (the lab can only swap and combine within one group).
export function baseGroups(jobs) {
  const groups = new Map();
  for (const job of jobs) {
    if (job.state !== 'done' || !job.has_adapter || !loraMethods().includes(job.method)) continue;
    const precision = precisionOf(job.method);
    const key = `${job.model}|${precision}`;
    if (!groups.has(key)) groups.set(key, { key, model: job.model, precision, jobs: [] });
    groups.get(key).jobs.push(job);
  }
  return [...groups.values()].sort((a, b) => b.jobs.length - a.jobs.length);
}

export function runLabel(job) {
  const rank = job.config && job.config.rank ? `, r=${job.config.rank}` : '';
  return `${job.task} (${job.method}${rank}) · ${String(job.id).slice(0, 6)}`;
}

// Rows of the score table: each source adapter alone, the combination, the base model; one column
// pair (held-out loss, metric) per task. Values are numbers or null; the view formats them.
export function scoreTable(combined) {
  const tasks = Object.keys(combined.eval);
  const row = (label, kind, evals) => ({
    label,
    kind,
    cells: tasks.map((task) => ({
      task,
      loss: evals[task] ? evals[task].eval_loss : null,
      metric: evals[task] ? evals[task].metric : null,
      metricName: evals[task] ? evals[task].metric_name : '',
    })),
  });
  const weights = combined.weights || combined.sources.map((s) => s.weight);
  const title = `${combined.combination} (weights ${weights.join(', ')}${combined.density != null ? `, density ${combined.density}` : ''})`;
  return {
    tasks,
    rows: [
      ...combined.sources.map((s) => row(`${s.task} adapter alone`, 'source', s.eval)),
      row(`combined: ${title}`, 'combined', combined.eval),
      row('base model, no adapter', 'base', combined.base_eval),
    ],
  };
}

// Did the combination keep each task's skill? Share of the source's gain over the base that the
// combination keeps, on the held-out loss (1 = all of it, 0 = none, < 0 = worse than the base).
export function keptShare(combined) {
  const out = {};
  for (const task of Object.keys(combined.eval)) {
    const source = combined.sources.find((s) => s.task === task);
    if (!source) continue;
    const base = combined.base_eval[task].eval_loss;
    const own = source.eval[task].eval_loss;
    const gain = base - own;
    out[task] = gain > 0 ? (base - combined.eval[task].eval_loss) / gain : null;
  }
  return out;
}

// The merge report as sentences' parts: logit difference, and how each latency compares with the base.
export function mergeFigures(report) {
  const lat = report.latency_ms;
  return {
    diff: report.max_abs_logit_diff,
    adapterMs: lat.adapter,
    mergedMs: lat.merged,
    baseMs: lat.base,
    adapterOverBase: lat.adapter / lat.base,
    mergedOverBase: lat.merged / lat.base,
    batch: `${report.prompts} held-out prompts, ${report.tokens} tokens, median of ${report.repeats} forward passes on ${report.device} (${report.dtype})`,
    mergedInto: report.merged_into,
  };
}
