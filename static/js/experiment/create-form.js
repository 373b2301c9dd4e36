// The instructor's form for a new class experiment: a preset, or a custom grid (one training
// setting over a list of values, the fixed settings, replicates, the measures), and the time budget.
import { h } from '../dom.js';

export function createForm(list, onSubmit) {
  const presetSelect = h('select', { id: 'exp-preset', name: 'preset' },
    list.map((p) => h('option', { value: p.id }, p.question || p.id)), h('option', { value: '' }, 'Custom experiment…'));
  const field = (id, label, input, hint = null) => h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint ? h('span', { class: 'limit' }, hint) : null);
  const custom = h('fieldset', { class: 'custom-experiment', hidden: list.length > 0 },
    h('legend', {}, 'Custom experiment'),
    field('exp-variable', 'Variable (a training setting)', h('input', { id: 'exp-variable', name: 'variable', value: 'rank' })),
    field('exp-values', 'Values', h('input', { id: 'exp-values', name: 'values', value: '1, 4, 16' }), 'comma-separated; a list as q_proj+v_proj'),
    field('exp-replicates', 'Replicates (seeds per value)', h('input', { id: 'exp-replicates', name: 'replicates', type: 'number', min: 1, max: 8, value: 1 })),
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
    onSubmit(readForm(form));
  });
  return form;
}

const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);
// "8" → 8, "lora" → "lora", "q_proj+v_proj" → ["q_proj", "v_proj"] (a list, as the server labels one).
export function scalar(text) {
  if (text !== '' && Number.isFinite(Number(text))) return Number(text);
  return text.includes('+') ? text.split('+').map((s) => s.trim()).filter(Boolean) : text;
}

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
