// The server's method specs and loading-stage words (app/training/methods.py, app/training/stages.py),
// rendered into every page as <script type="application/json" id="ftlab-facts"> (GET /api/methods and
// /api/stages serve the same). Widgets read a method's facts here instead of comparing its name.
// Node tests call setFacts() with the same JSON (tests/fixtures/page_facts.json, checked against the server).

let facts = null;

export function setFacts(value) {
  facts = value;
}

function read() {
  if (!facts) {
    const tag = typeof document === 'undefined' ? null : document.getElementById('ftlab-facts');
    facts = tag ? JSON.parse(tag.textContent) : { methods: [], stages: {} };
  }
  return facts;
}

// Every method spec: {name, label, kinds via defaults, base_precision, writes_base, lora_adapter, ...}.
export const methods = () => read().methods;
export const methodSpec = (name) => methods().find((m) => m.name === name) || null;
export const methodNames = (test = () => true) => methods().filter(test).map((m) => m.name);
export const trains = (spec, kind) => Boolean(spec && spec.defaults && kind in spec.defaults);
// the kind of task it trains on with a model of this kind (as app.training.methods.task_kind_for)
export const taskKind = (spec, kind) => spec.task_kind || (kind === 'encoder' ? 'classification' : 'chat');
export const loraMethods = () => methodNames((m) => m.lora_adapter);
export const basePrecision = (name) => methodSpec(name)?.base_precision || 'dense';
export const stageWords = (stage) => read().stages[stage];
// the methods app/lesson/notebook_export.py can write a notebook for
export const notebookMethods = () => read().notebook_methods || [];
