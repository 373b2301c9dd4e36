// Training-memory arithmetic of the memory calculator (decimal units: 1 GB = 1e9 bytes).
// Mirrors app/lesson/calculators.py `training_memory` (its docstring holds the conventions and sources);
// node tests hold both to the shared cases in tests/fixtures/calculator_cases.json.

// Nominal sizes (the lesson's "7B" is 7e9) with the shapes of the named published models.
// kv: width of the value projection (smaller than d with grouped-query attention).
import { methodNames, methodSpec, trains } from './facts.js';

export const MODELS = {
  '0.135': { params: 134515008, d: 576, layers: 30, heads: 9, kv: 192, label: 'SmolLM2-135M' },
  1: { params: 1e9, d: 2048, layers: 16, heads: 32, kv: 512, label: '1B' },
  7: { params: 7e9, d: 4096, layers: 32, heads: 32, kv: 4096, label: '7B' },
  13: { params: 13e9, d: 5120, layers: 40, heads: 40, kv: 5120, label: '13B' },
  65: { params: 65e9, d: 8192, layers: 80, heads: 64, kv: 8192, label: '65B' },
  70: { params: 70e9, d: 8192, layers: 80, heads: 64, kv: 1024, label: '70B' },
};

// 4-bit NF4: one fp32 absmax per 64 weights, double-quantised to 8 bits with one fp32 per 256 of them.
export const NF4_BITS = 4 + 8 / 64 + 32 / (64 * 256);
export const BYTES = { fp32: 4, bf16: 2, '4bit': NF4_BITS / 8 };
const ADAM_BYTES = 8; // two fp32 moments per trained parameter
// bytes of optimiser state per trained parameter: 8-bit AdamW keeps two 8-bit moments; paged AdamW
// has the same bytes, movable to CPU memory during a spike
export const OPTIMIZER_BYTES = { adamw: ADAM_BYTES, adamw8bit: 2, paged_adamw8bit: 2 };
export const MAX_GPUS = 1024;
const MASTER_BYTES = 4; // mixed precision keeps an fp32 master copy of 16-bit trained weights
const ADAPTER_BYTES = 4; // adapters train and are saved in fp32

// The methods it sizes (as app.lesson.calculators.METHODS): the causal methods that add no trainer of
// their own (trl's sft and dpo train a LoRA adapter, sized as lora). What each trains: its spec.
export const sizedMethods = () => methodNames((m) => trains(m, 'causal') && !m.trl);

export function trainableParams({ model, method, rank = 16, virtualTokens = 20 }) {
  const m = MODELS[model];
  const spec = methodSpec(method);
  if (!spec) throw new Error(`unknown method ${method}`);
  if (spec.writes_base) return m.params;
  // LoRA on the query (d×d) and value (kv×d) projections of every layer, as Hu et al. (2021).
  if (spec.lora_adapter) return m.layers * (rank * (m.d + m.d) + rank * (m.kv + m.d));
  if (spec.virtual_tokens_at === 'input') return virtualTokens * m.d; // k vectors at the input
  if (spec.virtual_tokens_at === 'every_layer') return 2 * m.layers * virtualTokens * m.kv; // k keys + k values per layer
  throw new Error(`unknown method ${method}`);
}

// Activations kept for the backward pass: s·b·h·(34 + 5·a·s/h) bytes per layer at 16 bits
// (Korthikanti et al., 2022, no recomputation), doubled for fp32. Adapters do not shrink this.
// Gradient checkpointing keeps each layer's input (2·s·b·h) plus one layer rebuilt at a time.
export function activationBytes({ model, precision, seqLen = 512, batch = 1, checkpointing = false }) {
  const m = MODELS[model];
  const perLayer = seqLen * batch * m.d * (34 + (5 * m.heads * seqLen) / m.d);
  const kept = checkpointing ? m.layers * 2 * seqLen * batch * m.d + perLayer : m.layers * perLayer;
  return kept * (precision === 'fp32' ? 2 : 1);
}

// Per GPU: with gpus > 1, ZeRO-3 / FSDP shards weights, gradients and optimiser states evenly.
export function memory({
  model, precision, method, rank = 16, seqLen = 512, batch = 1, virtualTokens = 20,
  checkpointing = false, optimizer = 'adamw', gpus = 1,
}) {
  if (!MODELS[model]) throw new Error(`model must be one of ${Object.keys(MODELS).join(', ')}, not '${model}'`);
  if (!(precision in BYTES)) throw new Error(`precision must be one of fp32, bf16, 4bit, not '${precision}'`);
  if (!sizedMethods().includes(method)) throw new Error(`method must be one of ${sizedMethods().join(', ')}, not '${method}'`);
  if (rank < 1) throw new Error(`rank must be at least 1, not ${rank}`);
  if (!(optimizer in OPTIMIZER_BYTES)) throw new Error(`optimizer must be one of ${Object.keys(OPTIMIZER_BYTES).join(', ')}, not '${optimizer}'`);
  if (!(gpus >= 1 && gpus <= MAX_GPUS)) throw new Error(`gpus must be between 1 and ${MAX_GPUS}, not ${gpus}`);
  const stateBytes = OPTIMIZER_BYTES[optimizer];
  const spec = methodSpec(method);
  const base = spec.base_precision === 'nf4' ? '4bit' : precision;
  const full = spec.writes_base;
  if (full && base === '4bit') {
    throw new Error('full fine-tuning cannot update 4-bit weights: choose fp32 or bf16, or QLoRA');
  }
  const m = MODELS[model];
  const trainable = trainableParams({ model, method, rank, virtualTokens });
  let weights;
  let gradients;
  let states;
  let saved;
  if (full) {
    weights = m.params * BYTES[base];
    gradients = trainable * BYTES[base];
    states = trainable * (stateBytes + (base !== 'fp32' ? MASTER_BYTES : 0));
    saved = weights;
  } else {
    weights = m.params * BYTES[base] + trainable * ADAPTER_BYTES;
    gradients = trainable * ADAPTER_BYTES;
    states = trainable * stateBytes;
    saved = trainable * ADAPTER_BYTES;
  }
  // Soft-prompt vectors travel through every layer like real tokens.
  const tokens = seqLen + (spec.virtual_tokens_at === 'input' ? virtualTokens : 0);
  const activations = activationBytes({ model, precision: base === 'fp32' ? 'fp32' : 'bf16', seqLen: tokens, batch, checkpointing });
  weights /= gpus;
  gradients /= gpus;
  states /= gpus;
  return {
    trainable,
    trainablePct: (100 * trainable) / m.params,
    weights,
    gradients,
    optimizer: states,
    activations,
    total: weights + gradients + states + activations,
    saved,
  };
}
