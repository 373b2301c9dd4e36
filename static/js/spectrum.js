// The "spectrum of ΔW" widget: full fine-tuning and LoRA side by side (recorded runs at first),
// a step slider to replay how the spectrum grew, and the page's live run taking its side as it trains.
import { h, slider } from './dom.js';
import { Spectrum3D } from './charts/spectrum3d.js';
import { loadRecorded } from './recorded.js';
import { onLiveJob } from './live.js';

const SIDES = [
  { key: 'full', title: 'Full fine-tuning', recorded: 'full', methods: ['full'] },
  { key: 'lora', title: 'LoRA', recorded: 'lora', methods: ['lora', 'qlora', 'sft', 'dpo'] },
];

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
  container.append(
    h('div', { class: 'controls' }, stepSlider.el,
      h('div', { class: 'control' }, h('label', { for: 'spectrum-normalise' }, normBox, ' scale each layer by its largest σ'))),
    row,
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
    for (const side of sides) {
      const event = pick(side.store);
      if (event) side.chart.addPoint(event);
      else side.chart.reset();
    }
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
    const take = (method) => sides.find((s) => s.methods.includes(method));
    const assign = () => {
      const side = store.started && take(store.started.method);
      if (side && side.store !== store) attach(side, store, 'live');
    };
    if (store.started) assign();
    else store.subscribe((event) => { if (event.type === 'started') assign(); });
  });
}
