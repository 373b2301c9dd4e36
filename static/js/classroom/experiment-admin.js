// The class experiment on the instructor's dashboard (and, read-only and large, on the presenter
// view): create one from a preset or a custom grid, read the plan (or what would fit), start every
// cell, follow each cell, export CSV and PNG, and see how the room predicted against the result.
import { h } from '../dom.js';
import { getParam, setParams } from '../url.js';
import { seconds } from '../format.js';
import { ClassResult } from '../experiment/class-result.js';
import { experimentIdOf, experiments } from '../experiment/endpoints.js';
import { experimentInfo, presets } from '../experiment/info.js';
import { predictionOf, settingText } from '../experiment/prediction.js';
import { renderPredictions } from '../experiment/predictions.js';

const main = document.querySelector('main.dashboard');
const slot = main.querySelector('[data-experiment]');
const code = main.dataset.code;
const presenting = main.dataset.view === 'present';
const status = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', 'data-experiment-status': '' });
const planBox = h('div', { 'data-plan': '' });
const actions = h('div', { class: 'panel-actions', hidden: true });
const resultBox = h('div');
const cellsBody = h('tbody', { 'data-cells': '' });
const cellsTable = h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Cells of the experiment', hidden: true },
  h('table', { class: 'data-table' }, h('thead', {}, h('tr', {},
    ['cell', 'setting', 'seed', 'student', 'state', 'job', 'action'].map((t) => h('th', { scope: 'col' }, t)))), cellsBody));
const predictionsBox = h('div', { 'data-room-predictions': '' });

let current = null; // {id, info, result}
let students = []; // [{id, name}] from the dashboard's snapshots, for reassigning a cell
// The dashboard's socket (dashboard.js) passes on every message: snapshots (their roster) and the
// typed experiment messages, each carrying the results of the experiment that changed.
window.addEventListener('ftlab:dashboard', (e) => {
  const data = e.detail;
  if (data.type === 'dashboard') students = data.students || [];
  const id = experimentIdOf(data);
  if (id == null) return;
  if (!current && !getParam('experiment')) show(id, data);
  else if (current && id === current.id && data.results) apply(data.results);
});

function planText(plan) {
  return `${plan.runs} run(s), ${plan.steps} steps each (sequence length ${plan.seq_len}), about ${seconds(plan.est_run_s)} per run, `
    + `${seconds(plan.est_total_s)} in all on ${plan.workers} worker(s).`;
}

function createForm(list) {
  const presetSelect = h('select', { id: 'exp-preset', name: 'preset' },
    list.map((p) => h('option', { value: p.id }, p.question || p.id)), h('option', { value: '' }, 'Custom experiment…'));
  const field = (id, label, input, hint = null) => h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint ? h('span', { class: 'limit' }, hint) : null);
  const custom = h('fieldset', { class: 'custom-experiment', hidden: list.length > 0 },
    h('legend', {}, 'Custom experiment'),
    field('exp-variable', 'Variable (a training setting)', h('input', { id: 'exp-variable', name: 'variable', value: 'rank' })),
    field('exp-values', 'Values', h('input', { id: 'exp-values', name: 'values', value: '1, 4, 16' }), 'comma-separated'),
    field('exp-replicates', 'Replicates (seeds per value)', h('input', { id: 'exp-replicates', name: 'replicates', type: 'number', min: 1, max: 20, value: 1 })),
    field('exp-fixed', 'Fixed settings', h('input', { id: 'exp-fixed', name: 'fixed', value: 'model=tiny-llama, method=lora, task=tone' }), 'name=value, comma-separated'),
    field('exp-measures', 'Measures to plot', h('input', { id: 'exp-measures', name: 'measures', value: 'eval_loss, wall_s' }), 'comma-separated'));
  const budget = h('input', { id: 'exp-budget', name: 'budget_s', type: 'number', min: 30, max: 7200, value: 600 });
  const form = h('form', { class: 'controls experiment-form', novalidate: true },
    field('exp-preset', 'Experiment', presetSelect), field('exp-budget', 'Time budget (s)', budget), custom,
    h('button', { type: 'submit', class: 'primary' }, 'Plan the experiment'));
  presetSelect.addEventListener('change', () => {
    custom.hidden = presetSelect.value !== '';
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    create(readForm(form));
  });
  return form;
}

const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);
const scalar = (text) => (text !== '' && Number.isFinite(Number(text)) ? Number(text) : text);

export function readForm(form) {
  const body = { budget_s: Number(form.budget_s.value) };
  if (form.preset.value) return { ...body, preset: form.preset.value };
  const fixed = {};
  for (const pair of list(form.fixed.value)) {
    const [key, ...rest] = pair.split('=');
    fixed[key.trim()] = scalar(rest.join('=').trim());
  }
  return {
    ...body, variable: form.variable.value.trim(), values: list(form.values.value).map(scalar),
    replicates: Number(form.replicates.value), fixed, measures: list(form.measures.value),
  };
}

async function create(body) {
  status.textContent = 'Planning…';
  planBox.replaceChildren();
  try {
    const made = await experiments.create(code, body);
    showPlan(made.plan);
    status.textContent = `Experiment ${made.id} is ready: students see their cells; press Start all when the room has predicted.`;
    await show(made.id, made);
  } catch (err) {
    // 422: the server says what to change (fewer values, fewer replicates, a smaller model, more time).
    planBox.replaceChildren(h('div', { class: 'eta-warning', role: 'alert', 'data-plan-refused': '' },
      h('p', {}, err.status === 422 ? `This does not fit: ${err.message}` : `Could not plan: ${err.message}`)));
    status.textContent = '';
  }
}

function showPlan(plan) {
  if (plan) planBox.replaceChildren(h('p', { class: 'plan' }, h('strong', {}, 'Plan: '), planText(plan)));
}

async function show(id, ...sources) {
  if (current && current.id === id) return;
  current = { id, info: null, result: null };
  setParams({ experiment: id });
  const given = sources.find((s) => s?.results)?.results;
  const results = given ?? await experiments.results(code, id).catch(() => null);
  const info = await experimentInfo(id, results, ...sources);
  if (current.id !== id) return; // another experiment was asked for meanwhile
  resultBox.replaceChildren();
  const result = new ClassResult(resultBox, {
    info, code, height: presenting ? 520 : 380, fontSize: presenting ? 24 : null, title: 'What the class measured',
  });
  current = { id, info, result };
  slot.dataset.experimentId = String(id);
  actions.hidden = presenting;
  cellsTable.hidden = presenting;
  if (results) apply(results);
  refresh(); // what changed while the panel was being built
}

function apply(results) {
  if (!current?.result) return; // still being drawn: it reads the newest results itself
  current.result.update(results);
  renderCells(results.runs || []);
  renderPredictions(predictionsBox, results.predictions, predictionOf(current.info).choices);
}

// A cell nobody started (its student left, or never came): run it now, or give it to another student.
function cellActions(run, n) {
  if (presenting || run.state !== 'waiting') return '';
  const pick = h('select', { 'aria-label': `Give cell ${n} to`, 'data-assign': '' },
    h('option', { value: '' }, 'nobody (next to ask)'), students.map((s) => h('option', { value: s.id }, s.name)));
  const assign = h('button', { type: 'button', class: 'link-button' }, 'Reassign');
  const runNow = h('button', { type: 'button', class: 'link-button', 'data-run-cell': '' }, 'Run now');
  assign.addEventListener('click', () => act(`Reassign cell ${n}`, async () => {
    await experiments.assignCell(code, current.id, run.cell_id, pick.value || null);
    status.textContent = `Cell ${n} reassigned.`;
  }));
  runNow.addEventListener('click', () => act(`Run cell ${n}`, async () => {
    const started = await experiments.runCell(code, current.id, run.cell_id);
    status.textContent = `Cell ${n} runs as job ${started.job_id}.`;
  }));
  return h('span', { class: 'cell-actions' }, runNow, ' ', pick, ' ', assign);
}

async function act(label, fn) {
  try {
    await fn();
    await refresh();
  } catch (err) {
    status.textContent = `${label}: ${err.message}`;
  }
}

function renderCells(runs) {
  // Rebuilt only when something changed, so an open "give to" choice is not pulled from under the mouse.
  const signature = JSON.stringify([runs.map((r) => [r.cell_id, r.state, r.student, r.job_id]), students]);
  if (signature === cellsBody.dataset.signature) return;
  cellsBody.dataset.signature = signature;
  cellsBody.replaceChildren(...runs.map((r, i) => h('tr', { 'data-cell-row': r.cell_id, 'data-state': r.state },
    h('td', {}, String(i + 1)), h('td', {}, settingText(current.info.variable, r)), h('td', {}, String(r.seed)),
    h('td', {}, r.student || '–'), h('td', {}, r.state),
    h('td', {}, r.job_id ? h('a', { href: `/lessons/fine-tuning-llms?job=${encodeURIComponent(r.job_id)}#live-panel` }, r.job_id) : '–'),
    h('td', {}, cellActions(r, i + 1)))));
}

async function refresh() {
  if (!current?.result) return;
  try {
    apply(await experiments.results(code, current.id));
  } catch (err) {
    status.textContent = `The results could not load: ${err.message}`;
  }
}

function buildActions() {
  const startAll = h('button', { type: 'button', class: 'primary', 'data-start-all': '' }, 'Start all');
  const csv = h('a', { class: 'button-link', 'data-export-csv': '', download: true }, 'Export results (CSV)');
  const png = h('button', { type: 'button', 'data-export-png': '' }, 'Export plot (PNG)');
  const present = h('a', { target: '_blank', rel: 'noopener' }, 'Presenter view of the experiment');
  startAll.addEventListener('click', async () => {
    startAll.disabled = true;
    try {
      const answer = await experiments.startAll(code, current.id);
      const started = answer.started.filter((c) => c.job_id);
      const refused = answer.started.filter((c) => !c.job_id);
      status.textContent = `Started ${started.length} cell(s).${refused.length ? ` Not started: ${refused.map((c) => c.error).join('; ')}` : ''}`;
      await refresh();
    } catch (err) {
      status.textContent = `Start all: ${err.message}`;
    } finally {
      startAll.disabled = false;
    }
  });
  png.addEventListener('click', () => current?.result.download());
  const observer = new MutationObserver(() => {
    const id = slot.dataset.experimentId;
    csv.href = experiments.csvUrl(code, id);
    present.href = `/classes/${encodeURIComponent(code)}?view=present&experiment=${encodeURIComponent(id)}`;
  });
  observer.observe(slot, { attributes: true, attributeFilter: ['data-experiment-id'] });
  actions.append(startAll, ' ', csv, ' ', png, ' ', present);
}

async function start() {
  if (!presenting) {
    const found = await presets();
    slot.append(createForm(found), planBox);
    buildActions();
  }
  slot.append(status, actions, resultBox, h('h3', {}, 'Predictions'), predictionsBox, cellsTable);
  // The experiment in the URL (the presenter link carries it), else the class's latest one.
  const wanted = getParam('experiment');
  if (wanted && /^[0-9a-f]{16}$/.test(wanted)) {
    await show(wanted);
    return;
  }
  const made = await experiments.list(code).catch(() => []);
  if (made.length) {
    const latest = made[made.length - 1];
    showPlan(latest.plan);
    await show(latest.id, latest);
  }
}

start().catch((err) => {
  status.textContent = `The experiment panel could not start: ${err.message}`;
});
