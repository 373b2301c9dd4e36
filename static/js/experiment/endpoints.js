// The class-experiment API (issue 18's contract), one wrapper per route.
import { request } from '../api.js';

const cls = (code) => `/api/classes/${encodeURIComponent(code)}`;
const exp = (code, id) => `${cls(code)}/experiments/${encodeURIComponent(id)}`;

export const experiments = {
  presets: () => request('GET', '/api/experiments/presets'),
  create: (code, body) => request('POST', `${cls(code)}/experiments`, body),
  cell: (code, id) => request('GET', `${exp(code, id)}/cell`),
  predict: (code, id, choice) => request('POST', `${exp(code, id)}/cell/prediction`, { choice }),
  startCell: (code, id) => request('POST', `${exp(code, id)}/cell/start`),
  startAll: (code, id) => request('POST', `${exp(code, id)}/start`),
  list: (code) => request('GET', `${cls(code)}/experiments`),
  results: (code, id) => request('GET', `${exp(code, id)}/results`),
  // The instructor: run a cell nobody started (its student left), or give it to another student.
  runCell: (code, id, cellId) => request('POST', `${exp(code, id)}/cells/${encodeURIComponent(cellId)}/run`),
  assignCell: (code, id, cellId, memberId) => request('POST', `${exp(code, id)}/cells/${encodeURIComponent(cellId)}/assign`, { member_id: memberId }),
  recorded: (presetId) => request('GET', `/api/experiments/presets/${encodeURIComponent(presetId)}/recorded`),
  csvUrl: (code, id) => `${exp(code, id)}/results.csv`,
};

// The measures an experiment plots: its own list, else every measure its runs carry.
export function measuresOf(info, results) {
  if (info?.measures?.length) return info.measures;
  const names = new Set();
  for (const run of results?.runs || []) for (const name of Object.keys(run.measures || {})) names.add(name);
  return [...names];
}

// Any class-channel message about an experiment's results (the backend's typed message).
export function isExperimentMessage(data) {
  return Boolean(data && typeof data.type === 'string' && data.type.startsWith('experiment'));
}

// The experiment a class state or class message names, if any.
export function experimentIdOf(data) {
  if (!data) return null;
  return data.experiment_id ?? data.experiment?.id ?? (isExperimentMessage(data) ? data.id ?? null : null);
}
