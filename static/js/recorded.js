// Recorded runs: real `ftlab train --jsonl` streams shipped with the lesson, replayed at once
// so curves, spectra and the comparison show before (or without) any live training.
import { JobEvents, parseJsonl } from './store.js';

const cache = new Map();

export function recordedNames() {
  const main = document.querySelector('main[data-recorded]');
  try {
    return main ? JSON.parse(main.dataset.recorded) : [];
  } catch {
    return [];
  }
}

export function lessonSlug() {
  const main = document.querySelector('main[data-slug]');
  return main ? main.dataset.slug : 'fine-tuning-llms';
}

// Resolves to a finished JobEvents labelled recorded, or null when the lesson has no such run.
export function loadRecorded(name) {
  if (!recordedNames().includes(name)) return Promise.resolve(null);
  if (!cache.has(name)) {
    const url = `/lessons/${encodeURIComponent(lessonSlug())}/recorded/${encodeURIComponent(name)}.jsonl`;
    cache.set(name, fetch(url)
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`recorded run ${name}: ${r.status}`))))
      .then((text) => {
        const events = parseJsonl(text);
        const store = new JobEvents(`recorded-${name}`, { recorded: true });
        store.addAll(events);
        return store;
      }));
  }
  return cache.get(name);
}
