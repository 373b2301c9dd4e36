// Recorded runs: real `ftlab train --jsonl` streams shipped with the lesson, replayed at once
// so curves, spectra and the comparison show before (or without) any live training.
import { h } from './dom.js';
import { JobEvents, parseJsonl } from './store.js';
import { notebookMethods } from './facts.js';

const cache = new Map();

export function recordedNames() {
  const main = document.querySelector('main[data-recorded]');
  try {
    return main ? JSON.parse(main.dataset.recorded) : [];
  } catch {
    return [];
  }
}

// Each recorded run's seeds and their final held-out loss, metric and looping share
// (app/lesson/recorded_runs.py: seed_summary), or null when the lesson recorded one seed.
export function recordedSeeds(name) {
  const main = document.querySelector('main[data-recorded-seeds]');
  try {
    const seeds = main ? JSON.parse(main.dataset.recordedSeeds)[name] : null;
    return seeds && seeds.seeds.length > 1 ? seeds : null;
  } catch {
    return null;
  }
}

export function lessonSlug() {
  const main = document.querySelector('main[data-slug]');
  return main ? main.dataset.slug : 'fine-tuning-llms';
}


// Where a run can be downloaded as a Jupyter notebook that reproduces it, or null (running, failed,
// or a method the export does not cover: app/lesson/notebook_export.py's list, from the page facts).
export function notebookUrl(store) {
  if (!store || store.terminal?.type !== 'done' || !notebookMethods().includes(store.started?.method)) return null;
  if (store.recorded) {
    const name = store.jobId.replace(/^recorded-/, '');
    return `/lessons/${encodeURIComponent(lessonSlug())}/recorded/${encodeURIComponent(name)}.ipynb`;
  }
  return `/api/jobs/${encodeURIComponent(store.jobId)}/notebook`;
}

// A download link for the run's notebook, or a dash.
export function notebookLink(store) {
  const url = notebookUrl(store);
  const what = store.recorded ? 'recorded run' : `run ${store.jobId}`;
  return url ? h('a', { href: url, download: '', 'aria-label': `Download the ${what} as a notebook` }, '.ipynb') : '–';
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
