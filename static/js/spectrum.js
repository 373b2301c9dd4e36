// The "spectrum of ΔW" widget: full fine-tuning and LoRA side by side (recorded runs at first),
// a step slider to replay how the spectrum grew, and the page's live run taking its side as it trains.
// LoRA is shown on the modules full fine-tuning reports (the same set), and a table lists each
// module's exact effective rank, entropy rank and best rank-r share next to LoRA's.
import { h, slider } from './dom.js';
import { Spectrum3D, shortName } from './charts/spectrum3d.js';
import { loadRecorded } from './recorded.js';
import { onLiveJob } from './live.js';
import { methodSpec } from './facts.js';

// A live run joins the side of its spectrum kind (the method spec's `spectrum`: W − W₀ or LoRA's B·A).
const SIDES = [
  { key: 'full', title: 'Full fine-tuning', recorded: 'full', spectrum: 'dense' },
  { key: 'lora', title: 'LoRA', recorded: 'lora', spectrum: 'lora' },
];

// 'base_model.model.model.layers.0.self_attn.q_proj' and '...q_proj.weight' name the same module.
export const moduleKey = (name) => String(name).replace(/^base_model\.model\./, '').replace(/\.weight$/, '').replace(/\.base_layer$/, '');

// The event restricted to the modules in `keys` (unchanged when none of them is there).
export function sameModules(event, keys) {
  if (!event || !keys) return event;
  const layers = event.layers.filter((l) => keys.has(moduleKey(l.name)));
  return layers.length ? { ...event, layers } : event;
}

export async function mount(container) {
  const state = { fraction: 1, normalise: true };
  const row = h('div', { class: 'plot-row' });
  const sides = SIDES.map((side) => {
    const label = h('p', { class: 'side-label' });
    const cell = h('div', { class: 'plot-cell', 'data-side': side.key }, label);
    row.append(cell);
    const chart = new Spectrum3D(cell, { title: side.title, normalise: state.normalise });
    return { ...side, cell, label, chart, store: null, unsubscribe: null };
  });

  const stepSlider = slider({
    label: 'replay: training progress', name: 'spectrum-progress', min: 0, max: 100, value: 100,
    format: (v) => `${v}%`, onInput: (v) => { state.fraction = v / 100; draw(); },
  });
  const normBox = h('input', { type: 'checkbox', id: 'spectrum-normalise', checked: state.normalise });
  normBox.addEventListener('change', () => {
    state.normalise = normBox.checked;
    for (const side of sides) side.chart.setNormalise(state.normalise);
  });
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table' },
    h('caption', { class: 'muted' }, 'The same modules in both runs: effective rank (singular values holding 90% of ‖ΔW‖²_F, computed on every singular value), entropy rank, and the share of ‖ΔW‖²_F the best rank-r approximation keeps (r = LoRA\'s rank).'),
    h('thead', {}, h('tr', {}, ['module', 'full FT: effective rank', 'full FT: entropy rank', 'full FT: best rank-r share', 'LoRA: effective rank (r)']
      .map((c) => h('th', { scope: 'col' }, c)))), tbody);
  container.append(
    h('div', { class: 'controls' }, stepSlider.el,
      h('div', { class: 'control' }, h('label', { for: 'spectrum-normalise' }, normBox, ' scale each layer by its largest σ'))),
    row, h('div', { class: 'table-wrap' }, table),
  );

  // The spectrum event to show for a side: the one at the chosen fraction of the run.
  function pick(store) {
    if (!store || !store.spectra.length) return null;
    const withLayers = store.spectra.filter((e) => e.layers && e.layers.length);
    if (!withLayers.length) return null;
    const index = Math.max(0, Math.ceil(state.fraction * withLayers.length) - 1);
    return withLayers[index];
  }

  function draw() {
    const full = pick(sides[0].store);
    const keys = full ? new Set(full.layers.map((l) => moduleKey(l.name))) : null;
    const shown = [full, sameModules(pick(sides[1].store), keys)];
    sides.forEach((side, i) => (shown[i] ? side.chart.addPoint(shown[i]) : side.chart.reset()));
    const lora = new Map((shown[1] ? shown[1].layers : []).map((l) => [moduleKey(l.name), l]));
    tbody.replaceChildren(...(full ? full.layers : []).map((l) => {
      const other = lora.get(moduleKey(l.name));
      return h('tr', {}, h('th', { scope: 'row' }, shortName(l.name)),
        h('td', { 'data-rank': 'full' }, `${l.effective_rank} of ${l.num_values || l.singular_values.length}`),
        h('td', {}, (l.entropy_rank || 0).toFixed(0)),
        h('td', {}, l.rank_energy != null ? `${(100 * l.rank_energy).toFixed(0)}% at r = ${l.rank}` : '–'),
        h('td', { 'data-rank': 'lora' }, other ? `${other.effective_rank} (r = ${other.rank ?? '?'})` : '–'));
    }));
  }

  function attach(side, store, kind) {
    if (side.unsubscribe) side.unsubscribe();
    side.store = store;
    side.label.replaceChildren(
      h('span', { class: `badge ${kind}` }, kind),
      ` ${store && store.started ? `${store.started.model} · ${store.started.method}` : side.title}`,
    );
    side.unsubscribe = store && !store.finished
      ? store.subscribe((event) => { if (event.type === 'spectrum') draw(); })
      : null;
    draw();
  }

  await Promise.all(sides.map(async (side) => {
    const store = await loadRecorded(side.recorded).catch(() => null);
    if (store) attach(side, store, 'recorded');
    else side.label.replaceChildren(h('span', { class: 'muted' }, `No recorded ${side.title} run ships with this lesson; start one in the live panel.`));
  }));

  onLiveJob((store) => {
    const take = (method) => sides.find((s) => s.spectrum === methodSpec(method)?.spectrum);
    const assign = () => {
      const side = store.started && take(store.started.method);
      if (side && side.store !== store) attach(side, store, 'live');
    };
    if (store.started) assign();
    else store.subscribe((event) => { if (event.type === 'started') assign(); });
  });
}
