// After a finished live run: ask the tuned model and the base model the same prompt, and
// download the adapter (for methods that train one). Model output is shown as text only.
import { h, nextId } from './dom.js';
import { api } from './api.js';

export function generateBox(jobId, { samplePrompt = '', hasAdapter = false } = {}) {
  const id = nextId('prompt');
  const input = h('input', { type: 'text', id, maxlength: 1000, value: samplePrompt, size: 50 });
  const ask = h('button', { type: 'button' }, 'Ask both models');
  const out = h('div', { class: 'sample', 'aria-live': 'polite' });
  ask.addEventListener('click', async () => {
    if (!input.value.trim()) return;
    ask.disabled = true;
    out.replaceChildren(h('p', { class: 'muted' }, 'Generating…'));
    try {
      const r = await api.generate(jobId, input.value);
      out.replaceChildren(
        h('div', {}, h('strong', {}, 'Base model'), h('pre', {}, r.base)),
        h('div', {}, h('strong', {}, 'Fine-tuned'), h('pre', {}, r.tuned)),
      );
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error' }, err.message));
    } finally {
      ask.disabled = false;
    }
  });
  return h('div', { class: 'generate-box' },
    h('div', { class: 'panel-actions' }, h('label', { for: id }, 'Your prompt '), input, ask,
      hasAdapter ? h('a', { href: `/api/jobs/${encodeURIComponent(jobId)}/adapter`, download: '' }, 'Download the adapter (PEFT files)') : null),
    out);
}
