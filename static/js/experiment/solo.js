// A solo learner (no class): where a section raises a preset's question, the recorded class result
// (real runs shipped with the lesson) is drawn with the class plot, and the learner can run one
// cell of their own beside it; when it ends, its point joins the recorded plot as "your run".
import { h, nextId } from '../dom.js';
import { api } from '../api.js';
import { JobEvents } from '../store.js';
import { follow } from '../ws.js';
import { ClassResult } from './class-result.js';
import { presets } from './info.js';
import { measuresFromEvents } from './measures.js';
import { experiments } from './endpoints.js';
import { valueKey } from './results-data.js';
import { watchInPanel } from './cell.js';


// The TrainConfig of one cell, as the class would have run it (the recorded plan's sizes).
export function cellConfig(preset, recorded, valueIndex, seriesIndex, seed) {
  const group = preset.series?.[seriesIndex]?.set ?? {};
  const also = preset.also?.[valueIndex] ?? {};
  const plan = recorded.plan ?? {};
  const config = { ...preset.fixed, ...group, ...also, [preset.variable]: preset.values[valueIndex], seed };
  if (plan.steps) config.steps = plan.steps;
  if (plan.seq_len) config.seq_len = plan.seq_len;
  return config;
}

function ownCell(box, preset, recorded, result) {
  const valueId = nextId('solo-value');
  const seriesId = nextId('solo-series');
  const values = h('select', { id: valueId }, preset.values.map((v, i) => h('option', { value: i }, valueKey(v))));
  const series = preset.series?.length
    ? h('select', { id: seriesId }, preset.series.map((g, i) => h('option', { value: i }, g.label))) : null;
  const start = h('button', { type: 'button', class: 'primary', 'data-solo-start': '' }, 'Run this cell');
  const status = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', 'data-solo-status': '' });
  // Closed by default: one Tab stop (its summary) until the learner opens it.
  box.append(h('details', { class: 'solo-own', 'data-solo-own': '' },
    h('summary', {}, 'Run one cell yourself'),
    h('p', { class: 'muted' }, `Pick the ${preset.variable}${series ? ' and the series' : ''}; your run gets a fresh seed and its point joins this plot when it ends.`),
    h('div', { class: 'controls solo-cell' },
      h('div', { class: 'field' }, h('label', { for: valueId }, preset.variable), values),
      series ? h('div', { class: 'field' }, h('label', { for: seriesId }, 'series'), series) : null,
      start),
    status));
  start.addEventListener('click', async () => {
    const valueIndex = Number(values.value);
    const seriesIndex = series ? Number(series.value) : 0;
    const seed = 1000 + Math.floor(Math.random() * 1000); // a seed the recorded class did not use
    start.disabled = true;
    status.textContent = 'Starting your run…';
    try {
      const job = await api.startJob(cellConfig(preset, recorded, valueIndex, seriesIndex, seed));
      status.textContent = `Your run is job ${job.id}: it plays in the live panel; its point joins this plot when it ends.`;
      watchInPanel(job.id, { scroll: false });
      const store = new JobEvents(job.id);
      const value = preset.values[valueIndex];
      const run = { job_id: job.id, value, setting: { [preset.variable]: value }, seed, series: preset.series?.[seriesIndex]?.label ?? null };
      result.setOwn({ jobId: job.id });
      store.subscribe((event, s) => {
        if (!s.finished) return;
        result.chart.addPoint({ ...run, state: s.terminal.type, measures: measuresFromEvents(s.events) });
        result.renderTable();
        status.textContent = s.terminal.type === 'done'
          ? 'Your run finished: the star on the plot is yours.' : `Your run ${s.terminal.type}.`;
        start.disabled = false;
      });
      follow(job.id, store);
    } catch (err) {
      start.disabled = false;
      status.textContent = `Your run did not start: ${err.message}`;
    }
  });
}

export async function mountSolo() {
  // Every recording is fetched at once; the figures are then placed in lesson order.
  const shown = (await presets()).filter((p) => p.recorded && p.section && document.getElementById(p.section));
  const recordings = await Promise.all(shown.map((p) => experiments.recorded(p.id).catch(() => null)));
  shown.forEach((preset, i) => {
    const recorded = recordings[i];
    if (!recorded) return; // none recorded yet: the section stays as it is
    const section = document.getElementById(preset.section);
    const box = h('figure', { id: `widget-experiment-${preset.id}`, class: 'widget solo-experiment', 'data-solo-experiment': preset.id, 'aria-labelledby': `cap-exp-${preset.id}` },
      h('figcaption', { id: `cap-exp-${preset.id}` }, h('span', { class: 'widget-kind' }, `Class experiment: ${preset.question}`)));
    section.append(box);
    const result = new ClassResult(box, { info: preset, title: 'What a recorded class measured' });
    // A recording keeps no cell or job ids (they named rows of the server that recorded it): the
    // plot keys its runs by them, so each recorded run is keyed by its place in the record.
    result.update({ ...recorded, runs: (recorded.runs || []).map((run, i) => ({ cell_id: `recorded-${i}`, ...run })) });
    if (preset.note) box.append(h('p', { class: 'muted', 'data-preset-note': '' }, preset.note));
    ownCell(box, preset, recorded, result);
    box.dataset.mounted = 'yes'; // built here at once, not by the lesson's lazy mount queue
  });
}
