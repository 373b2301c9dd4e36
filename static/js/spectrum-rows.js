// ΔW spectra as rows a reader can tell apart: the matrices of one transformer layer pooled together.
// Shared by the 3D spectrum and the first screen's light 2D view (which must not load plotly).

// The spectrum's matrices pooled per transformer layer: σ (or σ/σ₁) averaged index by index and the
// effective rank averaged. Matrices whose name carries no layer number stay rows of their own.
export function groupByLayer(layers, normalise) {
  const groups = new Map();
  for (const layer of layers) {
    const m = /layers?\.(\d+)\./.exec(layer.name || '');
    const key = m ? `layer ${m[1]}` : shortName(layer.name);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(layer);
  }
  return [...groups].map(([label, members]) => {
    const width = Math.max(...members.map((l) => l.singular_values.length));
    const values = Array.from({ length: width }, (_, i) => {
      const vs = members.map((l) => {
        const v = l.singular_values[i] ?? 0;
        return normalise ? v / (l.singular_values[0] || 1) : v;
      });
      return vs.reduce((a, b) => a + b, 0) / vs.length;
    });
    const effectiveRank = members.reduce((a, l) => a + l.effective_rank, 0) / members.length;
    return { label, values, effectiveRank };
  });
}

// "model.layers.3.self_attn.q_proj" → "3·q": tick labels that fit a 3D axis.
export function shortName(name) {
  const m = /layers?\.(\d+)\..*?([A-Za-z_]+)$/.exec(String(name || '').replace(/\.weight$/, '')); // full FT names end in .weight
  return m ? `${m[1]}·${m[2].replace(/_proj$/, '')}` : String(name || '').slice(-12);
}
