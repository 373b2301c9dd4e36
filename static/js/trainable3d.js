// "What each method trains": the model's parameters as a 3D volume (area ∝ parameter count),
// frozen weights grey and see-through, the trained part lit, one method at a time.
import { h, choice, slider } from './dom.js';
import { Chart } from './charts/base.js';
import { COLORS } from './palette.js';
import { int, pct } from './format.js';
import { loadRecorded } from './recorded.js';
import { getParam, setParams } from './url.js';
import { basePrecision, methodNames, methodSpec, trains } from './facts.js';

// Shapes of the two real models the lab trains (from their config.json files).
const ARCH = {
  'smollm2-135m': { layers: 30, hidden: 576, kv: 192, ffn: 1536, vocab: 49152, label: 'SmolLM2-135M' },
  'minilm-l6': { layers: 6, hidden: 384, kv: 384, ffn: 1536, vocab: 30522, label: 'all-MiniLM-L6-v2', classes: 2 },
};
// The methods drawn (trl's add its trainer, not new parts, to LoRA's), named as the API names them.
const drawnMethods = () => methodNames((m) => !m.trl).map((name) => [name, name]);
const DEFAULT_METHOD = 'lora'; // the lesson's running example

// Linear modules of one layer as [name, d_out, d_in].
function modules(a) {
  return [['q_proj', a.hidden, a.hidden], ['k_proj', a.kv, a.hidden], ['v_proj', a.kv, a.hidden], ['o_proj', a.hidden, a.hidden],
    ['gate_proj', a.ffn, a.hidden], ['up_proj', a.ffn, a.hidden], ['down_proj', a.hidden, a.ffn]];
}

// Every block to draw: {x0, x1, y0, y1, trained, name, params}. x spans parameters, y layers.
// What the method trains is read off its spec: the base's own weights, LoRA's B·A, soft prompts at the
// input or prefixes at every layer; an encoder-only method trains a classifier head on MiniLM.
export function layout(method, { rank = 8, tokens = 8, targets = ['q_proj', 'v_proj'] } = {}) {
  const spec = methodSpec(method);
  if (!spec) throw new Error(`unknown method ${method}`);
  const head = !trains(spec, 'causal');
  const a = ARCH[head ? 'minilm-l6' : 'smollm2-135m'];
  const mods = modules(a);
  const rowWidth = mods.reduce((s, [, o, i]) => s + o * i, 0);
  const blocks = [];
  const embed = a.vocab * a.hidden;
  const embedRows = embed / rowWidth;
  blocks.push({ x0: 0, x1: rowWidth, y0: -embedRows - 0.5, y1: -0.5, trained: spec.writes_base, name: 'token embeddings', params: embed });
  if (spec.virtual_tokens_at === 'input') {
    const p = tokens * a.hidden;
    blocks.push({ x0: -p - rowWidth * 0.02, x1: -rowWidth * 0.02, y0: -embedRows - 0.5, y1: -0.5, trained: true, name: `${tokens} soft-prompt vectors`, params: p, adapter: true });
  }
  for (let layer = 0; layer < a.layers; layer += 1) {
    let x = 0;
    for (const [name, out, inp] of mods) {
      const p = out * inp;
      blocks.push({ x0: x, x1: x + p, y0: layer, y1: layer + 0.8, trained: spec.writes_base, name: `layer ${layer} ${name}`, params: p });
      if (spec.lora_adapter && targets.includes(name)) {
        const q = rank * (out + inp);
        blocks.push({ x0: x, x1: x + q, y0: layer + 0.8, y1: layer + 0.95, trained: true, name: `layer ${layer} ${name} B·A (r=${rank})`, params: q, adapter: true });
      }
      x += p;
    }
    if (spec.virtual_tokens_at === 'every_layer') {
      const q = 2 * tokens * a.kv;
      blocks.push({ x0: -q - rowWidth * 0.02, x1: -rowWidth * 0.02, y0: layer, y1: layer + 0.8, trained: true, name: `layer ${layer} key/value prefix`, params: q, adapter: true });
    }
  }
  if (head) {
    const p = a.hidden * a.classes + a.classes;
    blocks.push({ x0: 0, x1: p, y0: a.layers + 0.3, y1: a.layers + 1.1, trained: true, name: 'classifier head', params: p, adapter: true });
  }
  const total = blocks.filter((b) => !b.adapter).reduce((s, b) => s + b.params, 0);
  const trained = blocks.filter((b) => b.trained).reduce((s, b) => s + b.params, 0);
  return { blocks, total, trained, arch: a, rowWidth };
}

// Side-by-side blocks of one row drawn as one box: a layer's seven frozen matrices look the same
// as one slab, at a seventh of the triangles (what SwiftShader pays for on every frame of a drag).
export function mergeRows(blocks) {
  const merged = [];
  for (const b of [...blocks].sort((p, q) => p.y0 - q.y0 || p.x0 - q.x0)) {
    const last = merged[merged.length - 1];
    if (last && last.y0 === b.y0 && last.y1 === b.y1 && Math.abs(last.x1 - b.x0) < 1e-6) last.x1 = b.x1;
    else merged.push({ ...b });
  }
  return merged;
}

// Many boxes as one mesh3d trace (one WebGL draw per colour).
function mesh(blocks, { height, color, opacity, name, scale }) {
  blocks = mergeRows(blocks);
  const x = []; const y = []; const z = []; const i = []; const j = []; const k = [];
  const I = [0, 0, 4, 4, 0, 0, 1, 1, 2, 2, 3, 3];
  const J = [1, 2, 5, 6, 1, 5, 2, 6, 3, 7, 0, 4];
  const K = [2, 3, 6, 7, 5, 4, 6, 5, 7, 6, 4, 7];
  for (const b of blocks) {
    const base = x.length;
    const xs = [b.x0, b.x1, b.x1, b.x0, b.x0, b.x1, b.x1, b.x0].map((v) => v / scale);
    x.push(...xs);
    y.push(b.y0, b.y0, b.y1, b.y1, b.y0, b.y0, b.y1, b.y1);
    z.push(0, 0, 0, 0, height, height, height, height);
    for (let t = 0; t < 12; t += 1) { i.push(base + I[t]); j.push(base + J[t]); k.push(base + K[t]); }
  }
  return { type: 'mesh3d', x, y, z, i, j, k, color, opacity, flatshading: true, name, showlegend: true, hoverinfo: 'name' };
}

class Volume extends Chart {
  constructor(container, state) {
    super(container, { label: 'The model as a 3D volume with the trained parameters lit', height: 460 });
    this.state = state;
  }

  traces() {
    const { blocks, rowWidth } = this.state.view;
    const scale = rowWidth / 30; // x in "rows" so the volume is roughly cubic
    const nf4 = basePrecision(this.state.method) === 'nf4';
    const frozenName = nf4 ? 'frozen (stored in 4-bit NF4)' : 'frozen';
    return [
      mesh(blocks.filter((b) => !b.trained), { height: 1, color: nf4 ? COLORS.sky : COLORS.grey, opacity: 0.18, name: frozenName, scale }),
      mesh(blocks.filter((b) => b.trained), { height: 1.6, color: COLORS.vermillion, opacity: 1, name: 'trained', scale }),
    ].filter((t) => t.x.length);
  }

  layout() {
    return {
      margin: { l: 0, r: 0, t: 10, b: 0 },
      legend: { orientation: 'h', y: 0.02 },
      scene: {
        aspectmode: 'manual',
        aspectratio: { x: 1.3, y: 1.3, z: 0.12 },
        xaxis: { title: { text: 'parameters →' }, showticklabels: false },
        yaxis: { title: { text: 'layer' } },
        zaxis: { visible: false },
        camera: { eye: { x: -0.55, y: -1.25, z: 0.95 }, center: { x: 0, y: 0, z: -0.3 } }, // scene higher, axis title in view
      },
    };
  }

  describe() {
    const v = this.state.view;
    return `${this.state.method}: ${int(v.trained)} of ${int(v.total)} parameters of ${v.arch.label} are trained (${pct((100 * v.trained) / v.total)}). Each layer is a row of its weight matrices, width ∝ parameters; the deep block in front is the token-embedding table.`;
  }
}

// Why the measured total differs from the drawn one: peft counts every parameter of the loaded
// model, so norm weights (not drawn) and the adapter's own parameters are in it.
function measuredGap(m, view) {
  const gap = m.total_params - view.total;
  if (!gap) return [];
  const adapter = m.total_params > m.trainable_params ? Math.min(m.trainable_params, gap) : 0;
  const parts = [[adapter, 'adapter parameters'], [gap - adapter, 'norm and other small weights']]
    .filter(([n]) => n > 0).map(([n, what]) => `${int(n)} ${what}`);
  return [h('span', { 'data-count': 'measured-gap' }, ` That total counts all ${int(m.total_params)}: the ${int(view.total)} drawn plus ${parts.join(' and ')}.`)];
}

export async function mount(container) {
  // r = 16 and 20 virtual tokens: the conventions of the lesson's comparison table.
  const options = drawnMethods();
  const state = { method: options.some(([m]) => m === getParam('share')) ? getParam('share') : DEFAULT_METHOD, rank: 16 };
  const info = h('div', { class: 'counts', 'aria-live': 'polite' });
  const methodChoice = choice({ label: 'method', options, value: state.method, onChange: (method) => update({ method }) });
  const rank = slider({ label: 'LoRA rank r', name: 'share-rank', min: 1, max: 64, value: state.rank, onInput: (r) => update({ rank: r }) });
  const cell = h('div', { class: 'plot-cell' });
  container.append(h('div', { class: 'controls' }, methodChoice.el, rank.el), info, cell);
  const measured = {};
  const volume = new Volume(cell, state);

  function update(change) {
    Object.assign(state, change);
    // The lesson's convention (q and v); the lab's own default, r = 8 on q, k, v and o, trains
    // exactly as many parameters on SmolLM2, which the measured line below shows.
    state.view = layout(state.method, { rank: state.rank, tokens: 20, targets: ['q_proj', 'v_proj'] });
    rank.el.hidden = !methodSpec(state.method).lora_adapter;
    setParams({ share: state.method === DEFAULT_METHOD ? null : state.method });
    const m = measured[state.method]?.started;
    info.replaceChildren(
      h('p', {}, 'Drawn: ', h('strong', { 'data-count': 'share' }, pct((100 * state.view.trained) / state.view.total)),
        ` of ${state.view.arch.label}'s ${int(state.view.total)} weights trained (${int(state.view.trained)}):`,
        ' the weight matrices and the embedding table only, the model\'s own parameters without any adapter.'),
      m ? h('p', {}, h('span', { class: 'badge recorded' }, 'recorded'),
        ` measured by the lab for ${m.method} on ${m.model}: ${int(m.trainable_params)} of ${int(m.total_params)} (${pct(m.trainable_pct)}).`,
        ...measuredGap(m, state.view)) : '', // replaceChildren would print null as text
    );
    volume.invalidate();
  }

  update({});
  await Promise.all(options.map(async ([name]) => {
    measured[name] = await loadRecorded(name).catch(() => null);
  }));
  update({});
}
