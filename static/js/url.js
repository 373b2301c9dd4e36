// Page state in the query string (job id, widget settings) so a refresh or a shared link
// restores what the student was looking at. replaceState: no history entry per slider tick.
export function getParam(name, fallback = null) {
  const value = new URLSearchParams(location.search).get(name);
  return value === null ? fallback : value;
}

export function getNumber(name, fallback, { min = -Infinity, max = Infinity } = {}) {
  const value = Number(getParam(name));
  if (getParam(name) === null || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

export function setParams(values) {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === '') params.delete(key);
    else params.set(key, String(value));
  }
  const query = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
}
