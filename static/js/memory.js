// Memory calculator: model size, precision, method, rank, gradient checkpointing, optimiser and
// ZeRO-3/FSDP sharding over N GPUs → weights, gradients, optimiser states, activations (per GPU) and
// the saved size, as bars with current GPU sizes marked.
import { h, choice, slider } from './dom.js';
import { Chart } from './charts/base.js';
import { COLORS } from './palette.js';
import { MODELS, OPTIMIZER_BYTES, memory, sizedMethods } from './memory-math.js';
import { methodSpec } from './facts.js';
import { bytes, int, pct } from './format.js';
import { getNumber, getParam, setParams } from './url.js';

const PARTS = [
  ['weights', 'weights', COLORS.grey, ''],
  ['gradients', 'gradients', COLORS.vermillion, '/'],
  ['optimizer', 'optimizer states', COLORS.blue, 'x'],
  ['activations', 'activations', COLORS.green, '.'],
];
// Memory of current cards (vendor data sheets): consumer 24 GB, A100/H100 80 GB, H200 141 GB, MI300X 192 GB.
const GPUS = [[24e9, '24'], [48e9, '48'], [80e9, '80'], [141e9, '141'], [192e9, '192 GB']];
const OPTIMIZERS = [['adamw', 'AdamW'], ['adamw8bit', '8-bit AdamW'], ['paged_adamw8bit', 'paged 8-bit AdamW']];

class Bars extends Chart {
  constructor(container, state) {
    super(container, { label: 'Training memory by part, horizontal bars', height: 300 });
    this.state = state;
  }

  traces() {
    const r = this.state.result;
    if (!r) return [];
    return PARTS.map(([key, label, color, shape]) => ({
      type: 'bar', orientation: 'h', name: label, y: ['training'], x: [r[key] / 1e9],
      marker: { color, pattern: { shape, fgcolor: '#000', solidity: 0.15 }, line: { color: '#000', width: 1 } },
      hovertemplate: `${label}: %{x:.2f} GB<extra></extra>`,
    }));
  }

  layout() {
    const total = this.state.result ? this.state.result.total / 1e9 : 1;
    const max = Math.max(total, 200) * 1.05;
    return {
      barmode: 'stack',
      margin: { l: 80, r: 20, t: 10, b: 90 },
      xaxis: { title: { text: 'GB (10⁹ bytes)' }, range: [0, max] },
      yaxis: { showticklabels: true },
      legend: { orientation: 'h', y: -0.45 },
      shapes: GPUS.map(([b]) => ({ type: 'line', x0: b / 1e9, x1: b / 1e9, y0: -0.5, y1: 0.5, line: { color: '#000', dash: 'dash', width: 2 } })),
      annotations: GPUS.map(([b, text]) => ({ x: b / 1e9, y: 0.5, yanchor: 'bottom', text, showarrow: false, font: { size: 12 } })),
    };
  }

  describe() {
    const r = this.state.result;
    if (!r) return this.state.error || '';
    const where = this.state.gpus > 1 ? ` per GPU (ZeRO-3 over ${this.state.gpus} GPUs)` : '';
    return `Total ${bytes(r.total)}${where}: ` + PARTS.map(([key, label]) => `${label} ${bytes(r[key])}`).join(', ') + '.';
  }
}

// The calculator's settings when the URL names none (left out of the URL when unchanged).
const URL_DEFAULTS = {
  mem_model: '7', mem_precision: 'fp32', mem_method: 'full', mem_rank: '16', mem_seq: '512', mem_ckpt: '0', mem_opt: 'adamw', mem_gpus: '1',
};

export function mount(container) {
  const modelKeys = Object.keys(MODELS);
  const state = {
    model: modelKeys.includes(getParam('mem_model')) ? getParam('mem_model') : '7',
    precision: ['fp32', 'bf16', '4bit'].includes(getParam('mem_precision')) ? getParam('mem_precision') : 'fp32',
    method: sizedMethods().includes(getParam('mem_method')) ? getParam('mem_method') : URL_DEFAULTS.mem_method,
    rank: getNumber('mem_rank', 16, { min: 1, max: 256 }),
    seqLen: getNumber('mem_seq', 512, { min: 128, max: 4096 }),
    checkpointing: getParam('mem_ckpt') === '1',
    optimizer: getParam('mem_opt') in OPTIMIZER_BYTES ? getParam('mem_opt') : 'adamw',
    gpus: getNumber('mem_gpus', 1, { min: 1, max: 64 }),
  };
  const model = choice({ label: 'model', value: state.model, options: modelKeys.map((k) => [k, MODELS[k].label]), onChange: (v) => update({ model: v }) });
  const precision = choice({ label: 'precision', value: state.precision, options: [['fp32', 'FP32'], ['bf16', 'BF16'], ['4bit', '4-bit NF4']], onChange: (v) => update({ precision: v }) });
  const method = choice({ label: 'method', value: state.method, options: sizedMethods().map((name) => [name, methodSpec(name).in_prose || methodSpec(name).label]), onChange: (v) => update({ method: v }) });
  const rank = slider({ label: 'LoRA rank r', name: 'mem-rank', min: 1, max: 256, value: state.rank, onInput: (v) => update({ rank: v }) });
  const seq = slider({ label: 'sequence length (batch 1)', name: 'mem-seq', min: 128, max: 4096, step: 128, value: state.seqLen, onInput: (v) => update({ seqLen: v }) });
  const ckptBox = h('input', { type: 'checkbox', id: 'mem-ckpt', checked: state.checkpointing });
  ckptBox.addEventListener('change', () => update({ checkpointing: ckptBox.checked }));
  const ckpt = h('div', { class: 'control' }, ckptBox, ' ', h('label', { for: 'mem-ckpt' }, 'gradient checkpointing'));
  const optimizer = choice({ label: 'optimiser', value: state.optimizer, options: OPTIMIZERS, onChange: (v) => update({ optimizer: v }) });
  const gpus = slider({ label: 'GPUs (ZeRO-3 / FSDP)', name: 'mem-gpus', min: 1, max: 64, value: state.gpus, onInput: (v) => update({ gpus: v }) });
  const note = h('p', { class: 'error', role: 'alert' });
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table' }, h('caption', { class: 'muted' }, 'The same numbers as the bars'), tbody);
  const cell = h('div', { class: 'plot-cell' });
  container.classList.add('memory-calc'); // on a phone the chart comes before the controls (CSS)
  container.append(
    h('div', { class: 'controls' }, model.el, precision.el, method.el),
    h('div', { class: 'controls' }, rank.el, seq.el),
    h('div', { class: 'controls' }, ckpt, optimizer.el, gpus.el), note,
    h('div', { class: 'plot-row' }, cell, h('div', { class: 'table-wrap' }, table)),
    h('p', { class: 'legend-note' }, 'Assumptions (the same as the server calculator): AdamW keeps two fp32 moments per trained parameter (8-bit AdamW two 8-bit ones; paged AdamW the same bytes, movable to CPU memory in a spike), plus an fp32 master copy in mixed precision; LoRA on the q and v projections, adapters in fp32; prompt tuning with 20 virtual tokens; 4-bit NF4 with double quantisation (about 4.127 bits per weight, every weight counted as quantised); activations at batch 1, with checkpointing each layer keeps only its input and one layer is rebuilt at a time; with N GPUs, ZeRO-3 / FSDP splits weights, gradients and optimiser states N ways and every figure is per GPU. KV cache, CUDA context and fragmentation come on top.'),
  );
  const bars = new Bars(cell, state);

  function row(key, label, value) {
    return h('tr', {}, h('th', { scope: 'row' }, label), h('td', { 'data-part': key }, value));
  }

  function update(change) {
    Object.assign(state, change);
    if (methodSpec(state.method).base_precision === 'nf4' && state.precision !== '4bit') {
      state.precision = '4bit';
      precision.set('4bit');
    }
    rank.el.hidden = !methodSpec(state.method).lora_adapter;
    // Only what the student changed goes in the URL (a default is left out, so an untouched
    // calculator leaves the address alone).
    const params = {
      mem_model: state.model, mem_precision: state.precision, mem_method: state.method, mem_rank: state.rank,
      mem_seq: state.seqLen, mem_ckpt: state.checkpointing ? '1' : '0', mem_opt: state.optimizer, mem_gpus: state.gpus,
    };
    setParams(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v) === URL_DEFAULTS[k] ? null : v])));
    try {
      state.result = memory(state);
      state.error = '';
      note.textContent = '';
    } catch (err) {
      state.result = null;
      state.error = err.message;
      note.textContent = err.message;
    }
    const r = state.result;
    tbody.replaceChildren(...(r ? [
      row('trainable', 'trained parameters', `${int(r.trainable)} (${pct(r.trainablePct)})`),
      ...PARTS.map(([key, label]) => row(key, label, bytes(r[key]))),
      row('total', state.gpus > 1 ? `total while training, per GPU of ${state.gpus}` : 'total while training', bytes(r.total)),
      row('saved', methodSpec(state.method).writes_base ? 'saved model' : 'saved adapter (fp32)', bytes(r.saved)),
    ] : []));
    bars.invalidate();
  }

  update({});
  return { state, update };
}
