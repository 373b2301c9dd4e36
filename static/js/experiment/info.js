// What the pages know of one experiment, gathered from what the API answers: its preset (question,
// variable, values, measures, prediction, section) overlaid with the experiment's own fields.
import { experiments } from './endpoints.js';

let presetsOnce = null;
export function presets() {
  presetsOnce ||= experiments.presets().catch(() => []);
  return presetsOnce;
}

export function presetIdOf(...sources) {
  for (const s of sources) {
    const id = s?.preset_id ?? (typeof s?.preset === 'string' ? s.preset : s?.preset?.id);
    if (id) return id;
  }
  return null;
}

// id: the experiment; sources: what the API said of it (its results, its entry in the class's list).
export async function experimentInfo(id, ...sources) {
  const presetId = presetIdOf(...sources);
  const preset = presetId ? (await presets()).find((p) => p.id === presetId) : null;
  const info = { ...(preset || {}), preset: presetId };
  for (const s of sources) {
    if (!s) continue;
    for (const key of ['question', 'variable', 'values', 'measures', 'primary', 'prediction', 'section', 'groups', 'note']) {
      if (s[key] != null && !(Array.isArray(s[key]) && !s[key].length)) info[key] = s[key];
    }
    // The results carry the prediction's wording and choices under "predictions" (with the counts).
    if (!info.prediction && s.predictions?.choices) info.prediction = { text: s.predictions.text, choices: s.predictions.choices };
  }
  info.id = id;
  return info;
}
