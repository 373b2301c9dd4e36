// The class experiment on the instructor's dashboard (and, read-only and large, on the presenter
// view): create one from a preset or a custom grid, read the plan (or what would fit), start every
// cell, follow each cell, export CSV and PNG, and see how the room predicted against the result.
import { h } from '../dom.js';
import { request } from '../api.js';
import { getParam, setParams } from '../url.js';
import { seconds } from '../format.js';
import { ClassResult } from '../experiment/class-result.js';
import { experimentIdOf, experiments } from '../experiment/endpoints.js';
import { experimentInfo, presets } from '../experiment/info.js';
import { predictionOf, settingText } from '../experiment/prediction.js';
import { renderPredictions } from '../experiment/predictions.js';
import { createForm } from '../experiment/create-form.js';
import { offerButtons, offersOf } from '../experiment/offers.js';

const main = document.querySelector('main.dashboard');
const slot = main.querySelector('[data-experiment]');
const code = main.dataset.code;
const presenting = main.dataset.view === 'present';
// The presenter opened for one experiment (the dashboard's link names it): its plot comes first.
if (presenting && getParam('experiment')) main.dataset.focus = 'experiment';
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
  if (current && id === current.id) {
    if (data.results) apply(data.results);
  } else if (!getParam('experiment')) {
    showLatest(); // a new experiment (another tab made it), or the first message on connect
  }
});

function planText(plan) {
  return `${plan.runs} run(s), ${plan.steps} steps each (sequence length ${plan.seq_len}), about ${seconds(plan.est_run_s)} per run, `
    + `${seconds(plan.est_total_s)} in all on ${plan.workers} worker(s).`;
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
      h('p', {}, refusal(err)),
      offerButtons(offersOf(err), body, async (changed, limits) => {
        if (limits) { // the class's limits with the grid's methods and models added
          try {
            await request('PUT', `/api/classes/${encodeURIComponent(code)}/limits`, limits);
          } catch (putErr) {
            status.textContent = `Could not change the class limits: ${putErr.message}`;
            return;
          }
        }
        // the form shows what was planned
        const budget = document.getElementById('exp-budget');
        if (budget) budget.value = changed.budget_s;
        const fixed = document.getElementById('exp-fixed');
        if (fixed && changed.fixed && !changed.preset) {
          fixed.value = Object.entries(changed.fixed).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ');
        }
        create(changed);
      })));
    status.textContent = '';
  }
}

function refusal(err) {
  if (err.status !== 422) return `Could not plan: ${err.message}`;
  return offersOf(err)?.limits ? `Not allowed in this class: ${err.message}` : `This does not fit: ${err.message}`;
}

// The class's latest experiment, with its plan.
async function showLatest() {
  const made = await experiments.list(code).catch(() => []);
  const latest = made[made.length - 1];
  if (!latest || latest.id === current?.id) return;
  showPlan(latest.plan);
  await show(latest.id, latest);
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
  slot.dataset.experimentId = id;
  csvLink.href = experiments.csvUrl(code, id);
  presentLink.href = `/classes/${encodeURIComponent(code)}?view=present&experiment=${encodeURIComponent(id)}`;
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
  // A failed or cancelled run (its student removed, say) can run again; only a cell never started moves.
  if (presenting || !['waiting', 'failed', 'cancelled'].includes(run.state)) return '';
  if (run.state !== 'waiting') {
    const again = h('button', { type: 'button', class: 'link-button', 'data-run-cell': '' }, 'Run again');
    again.addEventListener('click', () => act(`Run cell ${n}`, async () => {
      const started = await experiments.runCell(code, current.id, run.cell_id);
      status.textContent = `Cell ${n} runs again as job ${started.job_id}.`;
    }));
    return again;
  }
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

const csvLink = h('a', { class: 'button-link', 'data-export-csv': '', download: true }, 'Export results (CSV)');
const presentLink = h('a', { target: '_blank', rel: 'noopener' }, 'Presenter view of the experiment');

function buildActions() {
  const startAll = h('button', { type: 'button', class: 'primary', 'data-start-all': '' }, 'Start all');
  const png = h('button', { type: 'button', 'data-export-png': '' }, 'Export plot (PNG)');
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
  png.addEventListener('click', () => current?.result?.download());
  actions.append(startAll, ' ', csvLink, ' ', png, ' ', presentLink);
}

async function start() {
  if (!presenting) {
    const found = await presets();
    slot.append(createForm(found, create), planBox);
    buildActions();
  }
  slot.append(status, actions, resultBox, h('h3', {}, 'Predictions'), predictionsBox, cellsTable);
  // The experiment in the URL (the presenter link carries it), else the class's latest one.
  const wanted = getParam('experiment');
  if (wanted && /^[0-9a-f]{16}$/.test(wanted)) {
    await show(wanted);
    return;
  }
  await showLatest();
}

start().catch((err) => {
  status.textContent = `The experiment panel could not start: ${err.message}`;
});
