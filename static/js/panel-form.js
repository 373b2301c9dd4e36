// The live panel's form: model, method and task pickers from the API, the method's key settings
// with their limits, and the server's 422 messages shown next to the field they concern.
import { h, nextId } from './dom.js';

// Which settings each method exposes (the rest keep the method's defaults).
const KEY_FIELDS = {
  full: ['steps', 'lr'],
  lora: ['steps', 'lr', 'rank', 'alpha'],
  qlora: ['steps', 'lr', 'rank', 'alpha'],
  prompt: ['steps', 'lr', 'num_virtual_tokens'],
  prefix: ['steps', 'lr', 'num_virtual_tokens'],
  head: ['steps', 'lr'],
  sft: ['steps', 'lr', 'rank', 'alpha'],
  dpo: ['steps', 'lr', 'rank', 'beta'],
};
const LABELS = {
  steps: 'steps', lr: 'learning rate', rank: 'rank r', alpha: 'alpha α', num_virtual_tokens: 'virtual tokens', beta: 'DPO β',
  model: 'model', method: 'method', task: 'task',
};
const DEFAULT_MODEL = 'smollm2-135m';

// GET /api/methods gives defaults per model kind: {defaults: {causal: {steps, lr, ...}, encoder: {...}}};
// fields without a per-method default (rank, alpha, ...) take TrainConfig's default from `limits`.
export function methodDefault(method, field, kind = 'causal') {
  if (!method) return null;
  const defaults = (method.defaults || {})[kind] || {};
  if (defaults[field] != null) return defaults[field];
  const limit = method.limits && method.limits[field];
  return limit ? limit.default : null;
}

// The model kinds a method trains: the kinds it has defaults for.
export function methodKinds(method) {
  return method.defaults ? Object.keys(method.defaults) : null;
}

function limitText(limit) {
  if (!limit) return '';
  const lo = limit.minimum ?? (limit.exclusiveMinimum != null ? `>${limit.exclusiveMinimum}` : null);
  const hi = limit.maximum ?? (limit.exclusiveMaximum != null ? `<${limit.exclusiveMaximum}` : null);
  if (lo != null && hi != null) return `limit ${lo} – ${hi}`;
  if (hi != null) return `at most ${hi}`;
  return lo != null ? `at least ${lo}` : '';
}

export class PanelForm {
  constructor(container, { models, methods, tasks, onChange = () => {} }) {
    this.models = models;
    this.methods = methods;
    this.tasks = tasks;
    this.onChange = onChange;
    this.fields = {};
    this.form = h('form', { class: 'panel-form', novalidate: true });
    this.form.addEventListener('submit', (e) => e.preventDefault());
    this.formError = h('p', { class: 'error', role: 'alert' });
    container.append(this.form, this.formError);
    this.model = this.select('model', models.map((m) => [m.name, m.untrained && !/untrained/.test(m.label || '') ? `${m.label || m.name} (untrained, for tests)` : m.label || m.name]));
    this.method = this.select('method', []);
    this.task = this.select('task', []);
    this.model.input.addEventListener('change', () => this.refresh());
    this.method.input.addEventListener('change', () => this.refresh());
    this.task.input.addEventListener('change', () => this.onChange());
    const initial = models.find((m) => m.name === DEFAULT_MODEL) || models[0];
    if (initial) this.model.input.value = initial.name;
    this.refresh('lora');
  }

  field(name, input) {
    const id = input.id || nextId(`f-${name}`);
    input.id = id;
    input.name = name;
    const limit = h('span', { class: 'limit', id: `${id}-limit` });
    const error = h('span', { class: 'field-error', id: `${id}-error`, role: 'alert' });
    input.setAttribute('aria-describedby', `${id}-limit ${id}-error`);
    const wrap = h('div', { class: 'field', 'data-field': name }, h('label', { for: id }, LABELS[name] || name), input, limit, error);
    this.fields[name] = { wrap, input, limit, error };
    return this.fields[name];
  }

  select(name, options) {
    const f = this.field(name, h('select'));
    this.setOptions(f.input, options);
    this.form.append(f.wrap);
    return f;
  }

  setOptions(select, options) {
    const keep = select.value;
    select.replaceChildren(...options.map(([value, text]) => h('option', { value }, text)));
    if (options.some(([value]) => value === keep)) select.value = keep;
  }

  currentMethod() {
    return this.methods.find((m) => m.name === this.method.input.value);
  }

  // Re-filters methods and tasks for the chosen model and rebuilds the method's number fields.
  refresh(preferMethod) {
    const model = this.models.find((m) => m.name === this.model.input.value) || {};
    const kind = model.kind || 'causal';
    const methods = this.methods.filter((m) => {
      return (methodKinds(m) || [kind]).includes(kind);
    });
    this.kind = kind;
    this.setOptions(this.method.input, methods.map((m) => [m.name, m.available === false ? `${m.label || m.name} (${m.note || 'not available'})` : m.label || m.name]));
    for (const option of this.method.input.options) {
      option.disabled = methods.find((m) => m.name === option.value)?.available === false;
    }
    if (preferMethod && methods.some((m) => m.name === preferMethod && m.available !== false)) this.method.input.value = preferMethod;
    if (this.method.input.selectedOptions[0]?.disabled) {
      const first = [...this.method.input.options].find((o) => !o.disabled);
      if (first) this.method.input.value = first.value;
    }
    // Only tasks the method trains on: its own kind (dpo: preference pairs), else chat for causal models
    // and classification for encoders (GET /api/methods gives task_kind).
    const wanted = this.currentMethod()?.task_kind || (kind === 'encoder' ? 'classification' : 'chat');
    const tasks = this.tasks.filter((t) => !t.kind || t.kind === wanted);
    this.setOptions(this.task.input, tasks.map((t) => [t.name, t.builtin === false ? `${t.name} (uploaded)` : t.name]));
    this.buildNumbers();
    this.clearErrors();
    this.onChange();
  }

  buildNumbers() {
    for (const name of Object.keys(this.fields)) {
      if (!['model', 'method', 'task'].includes(name)) {
        this.fields[name].wrap.remove();
        delete this.fields[name];
      }
    }
    const method = this.currentMethod();
    if (!method) return;
    for (const name of KEY_FIELDS[method.name] || ['steps', 'lr']) {
      const limit = (method.limits || {})[name] || {};
      const input = h('input', {
        type: 'number', inputmode: 'decimal', step: 'any',
        min: limit.minimum ?? limit.exclusiveMinimum, max: limit.maximum ?? limit.exclusiveMaximum,
      });
      const value = methodDefault(method, name, this.kind);
      if (value != null) input.value = value;
      const f = this.field(name, input);
      f.limit.textContent = [limitText(limit), value != null ? `default ${value}` : ''].filter(Boolean).join(' · ');
      this.form.append(f.wrap);
    }
  }

  // The POST /api/jobs body: only what the student set; the server fills the rest.
  config() {
    const body = { model: this.model.input.value, method: this.method.input.value, task: this.task.input.value };
    for (const [name, f] of Object.entries(this.fields)) {
      if (f.input.type !== 'number' || f.input.value === '') continue;
      body[name] = Number(f.input.value);
    }
    return body;
  }

  // Fills the form from a job's stored config (when the page reopens a job from the URL).
  load(config) {
    if (!config) return;
    if (config.model && this.models.some((m) => m.name === config.model)) this.model.input.value = config.model;
    this.refresh(config.method);
    if (config.task) this.task.input.value = config.task;
    for (const [name, f] of Object.entries(this.fields)) {
      if (f.input.type === 'number' && config[name] != null) f.input.value = config[name];
    }
  }

  clearErrors() {
    this.formError.textContent = '';
    for (const f of Object.values(this.fields)) {
      f.error.textContent = '';
      f.input.removeAttribute('aria-invalid');
    }
  }

  // Puts each message next to its field; messages about fields not on the form go above the button.
  showErrors(fields, fallback) {
    this.clearErrors();
    const loose = [];
    for (const [name, message] of Object.entries(fields || {})) {
      const f = this.fields[name];
      if (f) {
        f.error.textContent = message;
        f.input.setAttribute('aria-invalid', 'true');
      } else {
        loose.push(`${LABELS[name] || name}: ${message}`);
      }
    }
    if (!Object.keys(fields || {}).length && fallback) loose.push(fallback);
    this.formError.textContent = loose.join(' · ');
    const first = Object.values(this.fields).find((f) => f.input.getAttribute('aria-invalid'));
    if (first) first.input.focus();
  }

  setDisabled(disabled) {
    for (const el of this.form.elements) el.disabled = disabled;
  }
}
