// The adapter lab widget: swap finished LoRA runs on one base in a chat box, combine them and read each
// task's score beside the originals, merge one and read the logit difference and the latencies.
// Before any run has finished it shows a recorded real session (GET /api/adapters/recorded); with
// finished runs it calls the API. Model output goes in as text only.
import { h, nextId } from './dom.js';
import { request } from './api.js';
import { COMBINATIONS, PRUNING, baseGroups, keptShare, mergeFigures, runLabel, scoreTable } from './adapterlab-data.js';

const fmt = (x, digits = 3) => (x == null ? '–' : Number(x).toFixed(digits));
const ms = (x) => (x == null ? '–' : x < 1 ? `${x.toFixed(2)} ms` : `${x.toFixed(1)} ms`);

export async function mount(body) {
  const [recorded, jobs] = await Promise.all([
    request('GET', '/api/adapters/recorded').catch(() => null),
    request('GET', '/api/jobs?limit=200').catch(() => []),
  ]);
  const groups = baseGroups(jobs);
  const live = groups.length ? groups[0] : null;
  const root = h('div', { class: 'adapter-lab' });
  const status = h('p', { class: 'status-line', 'aria-live': 'polite' });
  const views = h('div');
  const show = (mode) => {
    if (mode === 'live' && live) {
      status.replaceChildren(h('span', { class: 'badge live' }, 'your runs'),
        ` ${live.jobs.length} finished run(s) on ${live.model} (${live.precision} weights)`);
      views.replaceChildren(swapLive(live), combineLive(live), mergeLive(live));
    } else if (recorded) {
      status.replaceChildren(h('span', { class: 'badge recorded' }, 'recorded'),
        ` a real session on ${recorded.model}, ${recorded.device}, recorded ${recorded.recorded_at.slice(0, 10)}: `
        + `${recorded.jobs.map((j) => `${j.task} LoRA (${j.config.steps} steps)`).join(' and ')}`);
      views.replaceChildren(swapRecorded(recorded), combineRecorded(recorded), mergeRecorded(recorded));
    } else {
      status.textContent = 'No recorded session is available; finish a LoRA run in the panel to use the lab.';
      views.replaceChildren();
    }
  };
  const toggles = h('div', { class: 'panel-actions', role: 'group', 'aria-label': 'Data shown' },
    live ? h('button', { type: 'button', onclick: () => show('live') }, 'Use my finished runs') : null,
    recorded ? h('button', { type: 'button', onclick: () => show('recorded') }, 'Show the recorded session') : null);
  root.append(status, toggles, views);
  body.append(root);
  show(live && live.jobs.length >= 2 ? 'live' : 'recorded');
}

function part(title, ...children) {
  return h('section', { class: 'adapter-lab-part' }, h('h4', {}, title), ...children);
}

function select(label, options, onChange) {
  const id = nextId('lab');
  const el = h('select', { id }, options.map(([value, text]) => h('option', { value }, text)));
  if (onChange) el.addEventListener('change', () => onChange(el.value));
  return { el, wrap: h('span', { class: 'field-inline' }, h('label', { for: id }, `${label} `), el) };
}

// A progress line for calls that take seconds to minutes (combining scores every task by generation).
function working(out, what) {
  const started = performance.now();
  const text = h('span', {}, what);
  out.replaceChildren(h('p', { class: 'muted' }, h('progress', { 'aria-label': what }), ' ', text));
  const timer = setInterval(() => { text.textContent = `${what} ${Math.round((performance.now() - started) / 1000)} s`; }, 1000);
  return () => clearInterval(timer);
}

async function run(button, out, what, call, render) {
  button.disabled = true;
  const stop = working(out, what);
  try {
    render(await call());
  } catch (err) {
    out.replaceChildren(h('p', { class: 'error' }, err.message));
  } finally {
    stop();
    button.disabled = false;
  }
}

function answers(r, switchText) {
  return [
    h('p', { class: 'muted' }, switchText),
    h('div', { class: 'sample' },
      h('div', {}, h('strong', {}, 'Base model'), h('pre', {}, r.base)),
      h('div', {}, h('strong', {}, `With ${r.adapterLabel}`), h('pre', {}, r.tuned))),
  ];
}

// -- swap --------------------------------------------------------------------------------------------
function swapLive(group) {
  const chooser = select('Answer with', group.jobs.map((j) => [j.id, runLabel(j)]));
  const id = nextId('prompt');
  const prompt = h('input', { type: 'text', id, maxlength: 1000, size: 40, value: 'Tell me about the sea' });
  const out = h('div', { 'aria-live': 'polite' });
  const ask = h('button', { type: 'button' }, 'Ask');
  ask.addEventListener('click', () => {
    if (!prompt.value.trim()) return;
    const host = group.jobs[0].id; // the base is shared: any run of the group hosts the others' adapters
    const job = group.jobs.find((j) => j.id === chooser.el.value);
    run(ask, out, 'Generating…',
      () => request('POST', `/api/jobs/${encodeURIComponent(host)}/generate`, { prompt: prompt.value, adapter: chooser.el.value }),
      (r) => out.replaceChildren(...answers({ ...r, adapterLabel: runLabel(job) },
        `Answered by ${runLabel(job)}; switching to it took ${ms(r.switch_ms)} (set_adapter on the shared base).`)));
  });
  return part('1. Swap: one base model, several adapters',
    h('div', { class: 'panel-actions' }, chooser.wrap, h('label', { for: id }, 'Prompt '), prompt, ask), out);
}

function swapRecorded(data) {
  const prompts = [...new Set(data.swaps.map((s) => s.prompt))];
  const out = h('div', { 'aria-live': 'polite' });
  const promptSel = select('Prompt', prompts.map((p) => [p, p]), () => render());
  const adapterSel = select('Answer with', data.jobs.map((j) => [j.id, `${j.task} LoRA`]), () => render());
  const render = () => {
    const s = data.swaps.find((x) => x.prompt === promptSel.el.value && x.adapter === adapterSel.el.value);
    if (!s) return;
    out.replaceChildren(...answers({ ...s, adapterLabel: `the ${s.adapter} LoRA` },
      `Switching to the ${s.adapter} adapter took ${ms(s.switch_ms)}; reading it from disk the first time took `
      + `${ms(s.load_ms)}; ${s.adapters_loaded} adapter(s) shared one base.`));
  };
  render();
  return part('1. Swap: one base model, several adapters',
    h('div', { class: 'panel-actions' }, promptSel.wrap, adapterSel.wrap), out);
}

// -- combine -----------------------------------------------------------------------------------------
function table(combined) {
  const { tasks, rows } = scoreTable(combined);
  const kept = keptShare(combined);
  const head = h('tr', {}, h('th', { scope: 'col' }, 'adapter'),
    tasks.flatMap((t) => [h('th', { scope: 'col' }, `${t}: held-out loss`), h('th', { scope: 'col' }, `${t}: ${rows[0].cells.find((c) => c.task === t).metricName}`)]));
  const body = rows.map((row) => h('tr', { class: row.kind === 'combined' ? 'highlight' : null },
    h('th', { scope: 'row' }, row.label),
    row.cells.flatMap((c) => [h('td', {}, fmt(c.loss)), h('td', {}, fmt(c.metric, 2))])));
  const keptText = Object.entries(kept).map(([t, k]) => `${t}: ${k == null ? '–' : `${Math.round(k * 100)}%`}`).join(', ');
  return [
    h('div', { class: 'table-wrap' }, h('table', { class: 'data-table' },
      h('caption', {}, `Each task's held-out loss (lower is better) and metric (higher is better); rank ${combined.rank}, `
        + `${combined.trainable_params.toLocaleString('en-US')} adapter parameters, ${(combined.adapter_bytes / 1e6).toFixed(2)} MB`),
      h('thead', {}, head), h('tbody', {}, body))),
    h('p', {}, `Share of each adapter's own loss improvement over the base that the combination keeps: ${keptText}.`),
  ];
}

function combineLive(group) {
  const rows = group.jobs.slice(0, 4).map((job, index) => {
    const id = nextId('w');
    const on = h('input', { type: 'checkbox', checked: index < 2, 'aria-label': `combine ${runLabel(job)}` });
    const weight = h('input', { type: 'number', id, min: -2, max: 2, step: 0.1, value: 1, size: 4 });
    return { job, on, weight, el: h('div', {}, on, ` ${runLabel(job)} `, h('label', { for: id }, 'weight '), weight) };
  });
  const kind = select('Combination', COMBINATIONS.map((c) => [c, c]));
  const densityId = nextId('density');
  const density = h('input', { type: 'number', id: densityId, min: 0.05, max: 1, step: 0.05, value: 0.5 });
  const out = h('div', { 'aria-live': 'polite' });
  const go = h('button', { type: 'button' }, 'Combine and score');
  go.addEventListener('click', () => {
    const chosen = rows.filter((r) => r.on.checked);
    const body = { jobs: chosen.map((r) => r.job.id), weights: chosen.map((r) => Number(r.weight.value)), combination: kind.el.value };
    if (PRUNING.has(kind.el.value)) body.density = Number(density.value);
    run(go, out, `Combining ${chosen.length} adapter(s) and scoring on each task…`,
      () => request('POST', '/api/adapters/combine', body),
      (c) => out.replaceChildren(...table(c),
        h('p', {}, h('a', { href: `/api/adapters/${encodeURIComponent(c.id)}/adapter`, download: '' }, 'Download the combined adapter (PEFT files)'))));
  });
  return part('2. Stack: combine adapters', ...rows.map((r) => r.el),
    h('div', { class: 'panel-actions' }, kind.wrap, h('label', { for: densityId }, 'density (ties, dare, prune) '), density, go), out);
}

function combineRecorded(data) {
  const out = h('div', { 'aria-live': 'polite' });
  const label = (c) => `${c.combination}, weights ${c.weights.join(' and ')}${c.density != null ? `, density ${c.density}` : ''}`;
  const chooser = select('Combination', data.combinations.map((c, i) => [String(i), label(c)]),
    (i) => out.replaceChildren(...table(data.combinations[Number(i)])));
  out.replaceChildren(...table(data.combinations[0]));
  return part('2. Stack: combine adapters', h('div', { class: 'panel-actions' }, chooser.wrap), out);
}

// -- merge -------------------------------------------------------------------------------------------
function mergeText(report, label) {
  const f = mergeFigures(report);
  return [
    h('p', {}, `Merged ${label} into ${f.mergedInto}. Largest difference between the merged model's logits and the `
      + `adapter's: ${f.diff.toExponential(1)}.`),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data-table' },
      h('caption', {}, `One forward pass over ${f.batch}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'model'), h('th', { scope: 'col' }, 'latency'), h('th', { scope: 'col' }, '× base'))),
      h('tbody', {},
        h('tr', {}, h('th', { scope: 'row' }, 'base + adapter (unmerged)'), h('td', {}, ms(f.adapterMs)), h('td', {}, f.adapterOverBase.toFixed(2))),
        h('tr', {}, h('th', { scope: 'row' }, 'merged'), h('td', {}, ms(f.mergedMs)), h('td', {}, f.mergedOverBase.toFixed(2))),
        h('tr', {}, h('th', { scope: 'row' }, 'base alone'), h('td', {}, ms(f.baseMs)), h('td', {}, '1.00'))))),
  ];
}

function mergeLive(group) {
  const chooser = select('Run', group.jobs.map((j) => [j.id, runLabel(j)]));
  const out = h('div', { 'aria-live': 'polite' });
  const go = h('button', { type: 'button' }, 'Merge and measure');
  go.addEventListener('click', () => {
    const job = group.jobs.find((j) => j.id === chooser.el.value);
    run(go, out, 'Merging and timing…', () => request('POST', `/api/jobs/${encodeURIComponent(job.id)}/merge`),
      (r) => out.replaceChildren(...mergeText(r, runLabel(job))));
  });
  return part('3. Merge: fold the update into the weights', h('div', { class: 'panel-actions' }, chooser.wrap, go), out);
}

function mergeRecorded(data) {
  const out = h('div', { 'aria-live': 'polite' });
  const chooser = select('Run', data.merges.map((m, i) => [String(i), `${m.job_id} LoRA`]),
    (i) => out.replaceChildren(...mergeText(data.merges[Number(i)], `the ${data.merges[Number(i)].job_id} LoRA`)));
  out.replaceChildren(...mergeText(data.merges[0], `the ${data.merges[0].job_id} LoRA`));
  return part('3. Merge: fold the update into the weights', h('div', { class: 'panel-actions' }, chooser.wrap), out);
}
