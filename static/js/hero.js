// The first screen's figure: ΔW of a real LoRA run, layer by layer, as it trained (the recorded run
// replayed; the page's live run once one starts). A 2D canvas and no plotly, so it draws at once
// and never holds the text back; the 3D version and the panel are further down.
import { h } from './dom.js';
import { loadRecorded } from './recorded.js';
import { onLiveJob } from './live.js';
import { groupByLayer } from './spectrum-rows.js';
import { SURFACE_SCALE } from './palette.js';
import { num } from './format.js';

const FRAME_MS = 700;

// SURFACE_SCALE (blue → green → yellow) at t in [0, 1].
function colour(t) {
  const stops = SURFACE_SCALE.map(([at, hex]) => [at, [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))]);
  const x = Math.max(0, Math.min(1, t));
  const k = stops.findIndex(([at]) => at >= x);
  if (k <= 0) return `rgb(${stops[0][1].join(',')})`;
  const [a0, c0] = stops[k - 1];
  const [a1, c1] = stops[k];
  const f = (x - a0) / (a1 - a0);
  return `rgb(${c0.map((c, i) => Math.round(c + f * (c1[i] - c))).join(',')})`;
}

export function summary(event, rows, source) {
  const ranks = rows.map((r) => r.effectiveRank);
  const width = Math.max(...rows.map((r) => r.values.length));
  return `${source}, step ${event.step}: in all ${rows.length} layers, 90% of ΔW's energy sits in ` +
    `${num(Math.min(...ranks), 2)} to ${num(Math.max(...ranks), 2)} of its ${width} directions.`;
}

export async function mount(container) {
  const canvas = h('canvas', { class: 'hero-canvas', role: 'img', 'aria-label': 'ΔW singular values per layer' });
  // Not a live region: the replay redraws it every frame, which a screen reader would read out each
  // time. A replay asked for by the button is announced once, at its end, through `said`.
  const caption = h('figcaption', { class: 'hero-summary' }, 'Loading a recorded run…');
  const said = h('p', { class: 'visually-hidden', role: 'status' });
  const replay = h('button', { type: 'button' }, 'Replay the run');
  container.replaceChildren(
    h('div', { class: 'hero-plot' }, canvas,
      h('p', { class: 'hero-axes muted' }, 'each column a layer, each row a direction of ΔW (σ₁ at the top); brighter = larger σᵢ / σ₁; ◆ the effective rank')),
    h('div', { class: 'hero-actions' }, replay,
      h('a', { href: '#widget-spectrum-live' }, 'The same in 3D'),
      h('a', { href: '#widget-live-panel' }, 'Train your own')),
    caption, said,
  );
  let store = null;
  let source = 'The recorded LoRA run of SmolLM2-135M';
  let timer = null;

  function draw(event) {
    const rows = groupByLayer(event.layers, true);
    const width = Math.max(...rows.map((r) => r.values.length));
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 600;
    const hgt = canvas.clientHeight || 160;
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(hgt * ratio);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const cw = w / rows.length;
    const ch = hgt / width;
    rows.forEach((row, x) => {
      row.values.forEach((v, y) => {
        ctx.fillStyle = colour(v);
        ctx.fillRect(x * cw, y * ch, Math.ceil(cw) - 1, Math.ceil(ch) - 1);
      });
      const k = Math.min(width, Math.max(1, row.effectiveRank));
      ctx.fillStyle = '#000';
      ctx.beginPath();
      const cx = x * cw + cw / 2;
      const cy = (k - 0.5) * ch;
      ctx.moveTo(cx, cy - 4); ctx.lineTo(cx + 4, cy); ctx.lineTo(cx, cy + 4); ctx.lineTo(cx - 4, cy);
      ctx.fill();
    });
    caption.textContent = summary(event, rows, source);
    canvas.setAttribute('aria-label', caption.textContent);
  }

  function frames() {
    return store ? store.spectra.filter((e) => e.layers && e.layers.length) : [];
  }

  function play(announce = false) {
    clearTimeout(timer);
    const all = frames();
    if (!all.length) return;
    const still = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    let i = still ? all.length - 1 : 0;
    const next = () => {
      draw(all[i]);
      i += 1;
      if (i < all.length) timer = setTimeout(next, FRAME_MS);
      else if (announce) said.textContent = caption.textContent;
    };
    next();
  }

  replay.addEventListener('click', () => play(true));
  window.addEventListener('resize', () => {
    const all = frames();
    if (all.length) draw(all[all.length - 1]);
  });
  onLiveJob((live) => {
    live.subscribe((event) => {
      if (event.type !== 'spectrum' || !event.layers?.length || !live.started || event.soft_prompt) return;
      clearTimeout(timer);
      store = live;
      source = `Your live ${live.started.method} run of ${live.started.model}`;
      draw(event);
    });
  });
  store = await loadRecorded('lora').catch(() => null);
  if (!store) {
    caption.textContent = 'No recorded LoRA run ships with this lesson; start one in the live panel below.';
    return;
  }
  if (store.started) source = `The recorded ${store.started.method} run of ${store.started.model}`;
  play();
}
