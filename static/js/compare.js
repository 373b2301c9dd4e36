// Compare: one click queues several methods on the same model and task; a table fills from the
// measured runs (next to the lesson's textbook table), starting with the recorded runs. Every row
// shows its budget (steps, learning rate, batch, tokens seen) so like-for-like is visible.
import { h } from './dom.js';
import { api, ApiError } from './api.js';
import { JobEvents } from './store.js';
import { follow } from './ws.js';
import { LossChart } from './charts/loss.js';
import { loadRecorded, notebookLink, recordedNames, recordedSeeds } from './recorded.js';
import { getParam, setParams } from './url.js';
import { bytes, int, num, pct, seconds } from './format.js';
import { methodStyle } from './palette.js';
import { methodNames, methodSpec, taskKind, trains } from './facts.js';

// Methods that train on one chat task side by side (from the specs: dpo needs a preference task,
// head an encoder). A 4-bit base or trl's trainer makes a step slower on the CPU: those start
// unchecked, which keeps one click's queue near 5 minutes on a 2-core CPU.
const chatMethods = () => methodNames((m) => m.available && trains(m, 'causal') && taskKind(m, 'causal') === 'chat');
const startsChecked = (spec) => spec.base_precision === 'dense' && !spec.trl;
// Ten columns (the budget in one, time and memory in one) so the table fits a 1440 px screen; on a
// phone each row stacks into label: value lines (CSS, from each cell's data-label).
const COLUMNS = [
  'method', 'model · task', 'run', 'budget', 'trainable %', 'adapter size',
  'held-out loss / metric', 'looping replies', 'wall time · peak memory', 'state', 'notebook',
];

// The run's budget from its own events: the resolved config of `started`, tokens from `done` (or,
// while it runs, from the last step's throughput), the looping share of the last evaluation.
export function budget(store) {
  const config = (store.started && store.started.config) || {};
  const done = store.terminal && store.terminal.type === 'done' ? store.terminal.summary || {} : {};
  const last = store.steps[store.steps.length - 1];
  const tokens = done.tokens_seen ?? (last ? Math.round(last.tokens_per_s * last.elapsed_s) : null);
  const lastEval = store.evals[store.evals.length - 1];
  return {
    steps: config.steps ?? (store.started ? store.started.steps : null),
    lr: config.lr ?? null,
    batch: config.batch_size ?? null,
    tokens,
    degenerate: lastEval && lastEval.degenerate != null ? lastEval.degenerate : null,
  };
}

const lrText = (lr) => (lr == null ? '–' : Number(lr).toExponential(1).replace('.0e', 'e'));

// The chart shares one axis: a language model's loss on its answer tokens. DPO's preference loss and
// an encoder's classification loss are on other scales; their numbers stay in the table.
function onLossChart(started) {
  if (!started) return true;
  const spec = methodSpec(started.method);
  return (!spec || taskKind(spec, 'causal') === 'chat') && started.model !== 'minilm-l6';
}

export async function mount(container) {
  const runs = []; // {store, row}
  const modelSel = h('select', { id: 'compare-model' });
  const taskSel = h('select', { id: 'compare-task' });
  const boxes = chatMethods().map((m) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: m, checked: startsChecked(methodSpec(m)) }), ` ${m} `));
  const go = h('button', { type: 'button', class: 'primary' }, 'Queue these methods');
  const note = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table compare-table' },
    h('caption', { class: 'muted' }, 'Runs measured by this server'),
    h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col' }, c)))), tbody);
  const about = h('p', { class: 'muted table-note' }, '"Recorded" rows come with the lesson, made with ftlab train at the same steps and batch, each at the learning rate a sweep chose; a row is seed 0 (the run the panel replays), and in brackets the range over all its recorded seeds. '
    + 'Budget: steps, learning rate, batch size and tokens seen. voice: the share of held-out replies that use the task\'s voice (at least one of its marker words) without looping; looping replies: held-out answers that repeat their word pairs.');
  const kinds = h('div', { class: 'choice', role: 'group', 'aria-label': 'Curves drawn' });
  const chartCell = h('div', { class: 'plot-cell' });
  container.append(
    h('div', { class: 'controls' },
      h('div', { class: 'field' }, h('label', { for: 'compare-model' }, 'model'), modelSel),
      h('div', { class: 'field' }, h('label', { for: 'compare-task' }, 'task'), taskSel),
      h('fieldset', { class: 'choice' }, h('legend', { class: 'choice-label' }, 'methods'), boxes), go),
    note, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Runs compared' }, table), about, kinds, chartCell,
  );
  // One curve per run at a time (twelve overlaid lines could not be read): training loss first.
  const chart = new LossChart(chartCell, { height: 320, kinds: 'train' });
  const kindButtons = [['train', 'training loss'], ['eval', 'held-out loss'], ['both', 'both']].map(([key, text]) => h('button', {
    type: 'button', 'aria-pressed': String(key === 'train'),
    onclick: (e) => {
      for (const b of kindButtons) b.setAttribute('aria-pressed', String(b === e.currentTarget));
      chart.setKinds(key);
    },
  }, text));
  kinds.append(h('span', { class: 'choice-label' }, 'curves'), ...kindButtons);
  chartCell.after(h('p', { class: 'muted' }, 'The curves show the loss on answer tokens of the language-model runs; '
    + 'DPO (a preference loss) and the MiniLM classifier (a classification loss) are on other scales, so they appear in the table only.'));

  // A recorded run's other seeds: the range of each final measure over all of them.
  function seedSpread(store) {
    const seeds = store.recorded ? recordedSeeds(store.jobId.replace(/^recorded-/, '')) : null;
    if (!seeds) return null;
    const range = (values, fmt) => {
      if (values.some((v) => v == null)) return null;
      const [low, high] = [fmt(Math.min(...values)), fmt(Math.max(...values))];
      return low === high ? low : `${low}–${high}`;
    };
    const parts = [`loss ${range(seeds.eval_loss, num)}`];
    const metric = range(seeds.metric, num);
    if (metric) parts.push(`${seeds.metric_name || 'metric'} ${metric}`);
    return h('span', { class: 'seed-spread', 'data-seeds': seeds.seeds.length },
      ` (${seeds.seeds.length} seeds: ${parts.join(', ')})`);
  }

  function cells(store) {
    const s = store.summary();
    const metric = s.metric != null ? `${s.metric_name || 'metric'} ${num(s.metric)}` : null;
    const b = budget(store);
    return [
      s.method || '…',
      s.model ? `${s.model} · ${s.task}` : '…',
      store.recorded ? h('span', { class: 'badge recorded' }, 'recorded') : h('span', { class: 'badge live', title: `job ${store.jobId}` }, 'live'),
      [b.steps != null ? `${b.steps} steps` : '– steps', `lr ${lrText(b.lr)}`, `batch ${b.batch ?? '–'}`,
        `${b.tokens != null ? int(b.tokens) : '–'} tokens`].join(' · '),
      pct(s.trainable_pct), s.adapter_bytes != null ? bytes(s.adapter_bytes) : '–',
      [[s.eval_loss != null ? num(s.eval_loss) : '–', metric].filter(Boolean).join(' · '), seedSpread(store)].filter(Boolean),
      b.degenerate != null ? pct(100 * b.degenerate) : '–',
      `${seconds(s.wall_s)} · ${s.peak_memory_bytes ? bytes(s.peak_memory_bytes) : '–'}`, s.state,
      notebookLink(store),
    ];
  }

  function addRun(store, label) {
    const row = h('tr', { 'data-run': store.jobId });
    tbody.append(row);
    const draw = () => row.replaceChildren(...cells(store).map((c, i) => h(i === 0 ? 'th' : 'td', { scope: i === 0 ? 'row' : null, 'data-label': COLUMNS[i] }, c)));
    const plot = (event) => {
      const method = store.started ? store.started.method : null;
      if (!onLossChart(store.started)) return;
      if (event.type === 'step') chart.addPoint('train', event.step, event.loss, store.jobId, label(method), method);
      if (event.type === 'eval') chart.addPoint('eval', event.step, event.eval_loss, store.jobId, label(method), method);
    };
    [...store.steps, ...store.evals].forEach(plot);
    draw();
    store.subscribe((event) => {
      plot(event);
      if (['started', 'eval', 'done', 'failed', 'cancelled'].includes(event.type)) draw();
    });
    runs.push({ store, row });
  }

  function followLive(id) {
    const store = new JobEvents(id);
    addRun(store, (m) => `${m || id} (live)`);
    follow(id, store);
    return store;
  }

  // Recorded runs first: the table is never empty, even where no training may run.
  const order = methodNames(); // the specs' order
  const names = recordedNames().sort((a, b) => (order.indexOf(a) + 99) % 99 - (order.indexOf(b) + 99) % 99);
  const recorded = await Promise.all(names.map((n) => loadRecorded(n).catch(() => null)));
  for (const store of recorded.filter(Boolean)) addRun(store, (m) => `${m} (recorded)`);
  const [models, tasks] = await Promise.all([api.models(), api.tasks()]);
  modelSel.replaceChildren(...models.filter((m) => m.kind !== 'encoder').map((m) => h('option', { value: m.name }, m.label || m.name)));
  if (models.some((m) => m.name === 'smollm2-135m')) modelSel.value = 'smollm2-135m';
  taskSel.replaceChildren(...tasks.filter((t) => !t.kind || t.kind === 'chat').map((t) => h('option', { value: t.name }, t.name)));

  const ids = (getParam('compare') || '').split(',').filter((id) => /^[A-Za-z0-9_-]{1,32}$/.test(id));
  ids.forEach(followLive);

  go.addEventListener('click', async () => {
    const methods = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    if (!methods.length) {
      note.textContent = 'Tick at least one method.';
      return;
    }
    go.disabled = true;
    const started = [];
    const problems = [];
    for (const method of methods) {
      try {
        const job = await api.startJob({ model: modelSel.value, method, task: taskSel.value });
        followLive(job.id);
        started.push(job.id);
      } catch (err) {
        problems.push(`${method}: ${err instanceof ApiError ? err.message : 'server unreachable'}`);
      }
    }
    const all = [...new Set([...ids, ...runs.filter((r) => !r.store.recorded).map((r) => r.store.jobId)])];
    setParams({ compare: all.join(',') });
    note.textContent = `Queued ${started.length} run(s); they train one after another.${problems.length ? ` Not queued: ${problems.join('; ')}` : ''}`;
    go.disabled = false;
  });
  return { runs, style: methodStyle };
}
