// The prediction a preset asks before a run: its wording and choices, read from the cell or the
// experiment (names may vary while the contract grows), as one {text, choices: [{id, text}]}.
export function predictionOf(info = {}, cell = {}) {
  const asked = cell.question ?? cell.prediction_question ?? info.prediction ?? info.predict ?? null;
  const spec = asked && typeof asked === 'object' ? asked : {};
  const text = spec.text ?? spec.question ?? (typeof asked === 'string' ? asked : null) ?? info.question ?? 'What do you expect?';
  const raw = spec.choices ?? cell.choices ?? info.choices ?? [];
  const choices = raw.map((c) => (typeof c === 'object' && c !== null
    ? { id: String(c.id ?? c.value ?? c.key), text: String(c.text ?? c.label ?? c.id ?? c.value) }
    : { id: String(c), text: String(c) }));
  return { text, choices };
}

// A cell's or run's setting as words: "rank = 8", "lr = 0.01 (full)".
export function settingText(variable, cell) {
  const value = cell.value !== undefined ? cell.value : cell.setting?.[variable] ?? cell.setting;
  const shown = Array.isArray(value) ? value.join('+') : value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
  return `${variable || 'setting'} = ${shown}${cell.series ? ` (${cell.series})` : ''}`;
}

// The prediction the student chose, as its choice id (the API may answer a string or {choice}).
export function chosenOf(cell) {
  const p = cell?.prediction;
  if (p == null) return null;
  return typeof p === 'object' ? String(p.choice ?? p.id ?? '') || null : String(p);
}
