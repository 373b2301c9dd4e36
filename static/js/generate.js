// After a finished live run: ask the tuned model and the base model the same prompt, and
// download the adapter (for methods that train one). With other finished runs on the same base, the
// box offers to answer with any of their adapters instead: the server swaps it in on the shared base
// and says how long the switch took. Model output is shown as text only.
import { h, nextId } from './dom.js';
import { api } from './api.js';
import { runLabel } from './adapterlab-data.js';

const ms = (x) => (x == null ? '' : x < 1 ? `${x.toFixed(2)} ms` : `${x.toFixed(1)} ms`);

// siblings: this run and the other finished runs whose adapters share its base (adapterlab-data's
// baseGroups); with fewer than two there is nothing to switch between.
export function generateBox(jobId, { samplePrompt = '', hasAdapter = false, siblings = [] } = {}) {
  const id = nextId('prompt');
  const input = h('input', { type: 'text', id, maxlength: 1000, value: samplePrompt, size: 50 });
  const ask = h('button', { type: 'button' }, 'Ask both models');
  const out = h('div', { class: 'sample', 'aria-live': 'polite' });
  let chooser = null;
  let chooserField = null;
  if (siblings.length >= 2) {
    const chooserId = nextId('adapter');
    chooser = h('select', { id: chooserId }, siblings.map((job) => h('option', { value: job.id, selected: job.id === jobId },
      job.id === jobId ? `this run: ${runLabel(job)}` : runLabel(job))));
    chooserField = h('span', { class: 'field-inline' }, h('label', { for: chooserId }, 'Answer with the adapter of '), chooser);
  }
  ask.addEventListener('click', async () => {
    if (!input.value.trim()) return;
    ask.disabled = true;
    out.replaceChildren(h('p', { class: 'muted' }, 'Generating…'));
    const adapter = chooser && chooser.value !== jobId ? chooser.value : null;
    try {
      const r = await api.generate(jobId, input.value, adapter);
      const label = adapter ? runLabel(siblings.find((job) => job.id === adapter)) : 'Fine-tuned';
      out.replaceChildren(
        adapter ? h('p', { class: 'muted' }, `Answered by ${label}; switching to its adapter on the shared base took ${ms(r.switch_ms)}.`) : '',
        h('div', {}, h('strong', {}, 'Base model'), h('pre', {}, r.base)),
        h('div', {}, h('strong', {}, label), h('pre', {}, r.tuned)),
      );
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error' }, err.message));
    } finally {
      ask.disabled = false;
    }
  });
  return h('div', { class: 'generate-box' },
    h('div', { class: 'panel-actions' }, chooserField, h('label', { for: id }, 'Your prompt '), input, ask,
      hasAdapter ? h('a', { href: `/api/jobs/${encodeURIComponent(jobId)}/adapter`, download: '' }, 'Download the adapter (PEFT files)') : null),
    out);
}
