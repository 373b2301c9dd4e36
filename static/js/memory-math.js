// Training-memory arithmetic of the memory calculator (decimal units: 1 GB = 1e9 bytes).
// Pure functions, no DOM: node tests check them against the server's calculator cases.

// Model presets: nominal parameter counts (the "7B" of the lesson is 7e9) and their shapes.
export const MODELS = {
  '0.135': { params: 134.5e6, d: 576, layers: 30, label: 'SmolLM2-135M' },
  1: { params: 1e9, d: 2048, layers: 16, label: '1B' },
  7: { params: 7e9, d: 4096, layers: 32, label: '7B' },
  13: { params: 13e9, d: 5120, layers: 40, label: '13B' },
  70: { params: 70e9, d: 8192, layers: 80, label: '70B' },
};

// Bytes per stored weight. 4-bit NF4 adds its quantisation constants: with double quantisation
// 0.127 bits per parameter (Dettmers et al., 2023), so 4.127 bits in all.
export const BYTES = { fp32: 4, bf16: 2, '4bit': 4.127 / 8 };
const ADAM_BYTES = 8; // two fp32 moments per trained parameter
const MASTER_BYTES = 4; // mixed precision keeps an fp32 master copy of what it trains
const ADAPTER_BYTES = 4; // adapters train in fp32 on top of any base precision
const LORA_TARGETS = 2; // q and v projections in every layer, as in the LoRA paper

export function trainableParams({ model, method, rank = 16, virtualTokens = 20 }) {
  const m = MODELS[model];
  if (method === 'full') return m.params;
  if (method === 'lora' || method === 'qlora') return LORA_TARGETS * m.layers * rank * (m.d + m.d);
  if (method === 'prompt') return virtualTokens * m.d;
  throw new Error(`unknown method ${method}`);
}

// Activations kept for the backward pass, per layer per token ≈ d·(34 + 5·a·s/d) bytes at 16 bits
// (Korthikanti et al., 2022, no recomputation), a = d/128 heads. Adapters do not shrink this: the
// backward pass still runs through every frozen layer.
export function activationBytes({ model, precision, seqLen = 512, batch = 1 }) {
  const m = MODELS[model];
  const heads = m.d / 128;
  const perToken = m.d * (34 + (5 * heads * seqLen) / m.d);
  const scale = precision === 'fp32' ? 2 : 1;
  return m.layers * seqLen * batch * perToken * scale;
}

export function memory({ model, precision, method, rank = 16, seqLen = 512, batch = 1, virtualTokens = 20 }) {
  if (!MODELS[model]) throw new Error(`unknown model ${model}`);
  const base = method === 'qlora' ? '4bit' : precision;
  if (method === 'full' && base === '4bit') {
    throw new Error('full fine-tuning cannot update 4-bit weights; choose fp32 or bf16, or QLoRA');
  }
  const m = MODELS[model];
  const trainable = trainableParams({ model, method, rank, virtualTokens });
  const full = method === 'full';
  const weights = m.params * BYTES[base] + (full ? 0 : trainable * ADAPTER_BYTES);
  const gradients = trainable * (full ? BYTES[base] : ADAPTER_BYTES);
  const master = full && base !== 'fp32' ? MASTER_BYTES : 0;
  const optimizer = trainable * (ADAM_BYTES + master);
  const activations = activationBytes({ model, precision: base === 'fp32' ? 'fp32' : 'bf16', seqLen, batch });
  // What you save and ship: the whole model for full fine-tuning; the adapter in bf16 otherwise.
  const saved = full ? m.params * BYTES[base] : trainable * 2;
  return {
    trainable,
    trainablePct: (100 * trainable) / m.params,
    weights,
    gradients,
    optimizer,
    activations,
    total: weights + gradients + optimizer + activations,
    saved,
  };
}
