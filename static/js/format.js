// Number formatting shared by widgets and tables (SI-like units the lesson text uses).
export function int(n) {
  return Math.round(n).toLocaleString('en-US');
}

export function compact(n) {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(abs >= 1e10 ? 0 : 1)}B`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(abs >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(n));
}

// Decimal units (1 GB = 1e9 bytes), the convention of the lesson's cost analysis.
export function bytes(n) {
  if (n == null || Number.isNaN(n)) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

export function pct(p) {
  if (p == null) return '–';
  if (p === 0) return '0%';
  if (p < 0.01) return `${Number(p.toPrecision(2))}%`; // 0.0034%, not 3.4e-3%
  if (p < 1) return `${p.toFixed(3)}%`;
  return `${p.toFixed(1)}%`;
}

export function seconds(s) {
  if (s == null || !Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export function num(x, digits = 3) {
  if (x == null || !Number.isFinite(x)) return '–';
  return Number(x).toPrecision(digits);
}
