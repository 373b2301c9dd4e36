// The "soft prompts in embedding space" widget: a recorded prompt-tuning run replayed step by
// step (play / scrub), replaced by the live run when the panel trains a prompt or prefix method.
import { h, slider } from './dom.js';
import { SoftPrompt3D } from './charts/softprompt3d.js';
import { loadRecorded } from './recorded.js';
import { onLiveJob } from './live.js';
import { methodSpec } from './facts.js';

export async function mount(container) {
  const label = h('p', { class: 'side-label' });
  const cell = h('div', { class: 'plot-cell' });
  const chart = new SoftPrompt3D(cell);
  let store = null;
  let unsubscribe = null;
  let timer = null;

  const progress = slider({
    label: 'training step shown', name: 'softprompt-step', min: 0, max: 0, value: 0,
    format: (i) => (geometry()[i] ? `step ${geometry()[i].step}` : '–'),
    onInput: (i) => { stop(); show(i); },
  });
  const play = h('button', { type: 'button', class: 'primary' }, 'Play');
  play.addEventListener('click', () => (timer ? stop() : start()));
  container.append(label, h('div', { class: 'controls' }, progress.el, play), cell);

  function geometry() {
    return store ? store.spectra.filter((e) => e.soft_prompt) : [];
  }

  // Shows the trail up to event i (the chart keeps every point it is given as the trail).
  function show(i) {
    chart.reset();
    geometry().slice(0, i + 1).forEach((e) => chart.addPoint(e));
    progress.set(i);
  }

  function start() {
    const frames = geometry();
    if (!frames.length) return;
    let i = Number(progress.input.value) >= frames.length - 1 ? 0 : Number(progress.input.value);
    play.textContent = 'Pause';
    timer = setInterval(() => {
      show(i);
      i += 1;
      if (i >= frames.length) stop();
    }, 500);
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    play.textContent = 'Play';
  }

  function attach(next, kind) {
    stop();
    if (unsubscribe) unsubscribe();
    store = next;
    const frames = geometry();
    progress.input.max = Math.max(0, frames.length - 1);
    label.replaceChildren(h('span', { class: `badge ${kind}` }, kind),
      ` ${next.started ? `${next.started.model} · ${next.started.method} · ${next.started.config?.num_virtual_tokens ?? ''} virtual tokens` : ''}`);
    show(Math.max(0, frames.length - 1));
    unsubscribe = next.finished ? null : next.subscribe((event) => {
      if (event.type !== 'spectrum' || !event.soft_prompt) return;
      const n = geometry().length;
      progress.input.max = n - 1;
      chart.addPoint(event);
      progress.set(n - 1);
    });
  }

  const recorded = await loadRecorded('prompt').catch(() => null);
  if (recorded) attach(recorded, 'recorded');
  else label.textContent = 'No recorded prompt-tuning run ships with this lesson; train the "prompt" method in the live panel to see one.';

  onLiveJob((live) => {
    const take = () => {
      if (live.started && methodSpec(live.started.method)?.virtual_tokens_at) attach(live, 'live'); // prompt or prefix
    };
    if (live.started) take();
    else live.subscribe((event) => { if (event.type === 'started') take(); });
  });
}
