// Shared chart plumbing: each chart is a <figure> whose caption is its text summary, with two tools
// of our own (reset view, download PNG; plotly's toolbar is off) and, in 3D, arrow keys that turn it.
// A chart draws only while on screen (near it) and releases its plot, WebGL context included, when
// it scrolls away; first draws queue up one per task so mounting several never blocks the page long.
// Subclasses keep their data in plain arrays and implement traces(), layout() and describe().
import { loadPlotly } from '../plotly.js';
import { BASE_LAYOUT, PLOT_CONFIG } from '../palette.js';
import { turn } from './camera.js';
import { rovingFocus } from '../dom.js';
import { calmScene } from './gl-calm.js';

let uid = 0;
const LAPTOP_BODY_PX = 17; // --base in ftlab.css; the size plot fonts are set for
const charts = new WeakMap(); // plot element -> chart
// A finger, not a mouse: 3D plots let swipes scroll the page until a tap on the plot activates it.
const touchFirst = () => window.matchMedia?.('(pointer: coarse)').matches ?? false;
// Phones get shorter plots: seven plots at 45 % of the screen each were most of a phone's scrolling.
const PHONE_WIDTH = 600;
export function plotHeight(height, width = window.innerWidth) {
  return width <= PHONE_WIDTH ? Math.min(height, Math.max(240, Math.round(width * 0.75))) : height;
}
const observer = typeof IntersectionObserver !== 'undefined'
  ? new IntersectionObserver((entries) => {
    for (const entry of entries) charts.get(entry.target)?.setOnScreen(entry.isIntersecting);
  }, { rootMargin: '300px 0px' })
  : null;

// Draws waiting their turn: one per animation frame, so the browser can paint and take input in
// between, and a slider dragged across twenty values redraws once per frame, not twenty times.
const waiting = [];
let pumping = false;
function queueDraw(chart) {
  if (!waiting.includes(chart)) waiting.push(chart);
  if (pumping) return;
  pumping = true;
  const next = () => {
    const chart = waiting.shift();
    if (!chart) {
      pumping = false;
      return;
    }
    chart.draw();
    requestAnimationFrame(next);
  };
  requestAnimationFrame(next);
}

// What a 3D scene does under the mouse, for speed with software WebGL: no spike lines to the walls
// and no contour lines following the cursor on surfaces (plotly recomputes and redraws those on every
// mouse move: 0.8 s frames with SwiftShader); the hover label with the values stays.
const QUIET_AXIS = { showspikes: false };
const QUIET_CONTOURS = { x: { highlight: false }, y: { highlight: false }, z: { highlight: false } };
export function quietScene(scene) {
  const axis = (name) => ({ ...QUIET_AXIS, ...(scene[name] || {}) });
  return { ...scene, xaxis: axis('xaxis'), yaxis: axis('yaxis'), zaxis: axis('zaxis') };
}
export function quietTrace(trace) {
  return trace.type === 'surface' ? { contours: QUIET_CONTOURS, ...trace } : trace;
}

// Projector mode (or a chart's own larger font): sizes a chart set itself (3D tick labels, legends,
// titles) grow by the same factor as the base font, so no text stays at laptop size on the wall.
export function scaleFonts(value, factor) {
  if (Array.isArray(value)) return value.map((v) => scaleFonts(v, factor));
  if (!value || typeof value !== 'object') return value;
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    if ((key === 'font' || key === 'tickfont') && v && typeof v.size === 'number') out[key] = { ...v, size: Math.round(v.size * factor) };
    else out[key] = scaleFonts(v, factor);
  }
  return out;
}

export class Chart {
  constructor(container, { label, height = 360, fontSize = null } = {}) {
    uid += 1;
    this.container = container;
    this.label = label || 'chart';
    this.height = height;
    this.fontSize = fontSize;
    this.figure = document.createElement('figure');
    this.figure.className = 'chart';
    this.figure.setAttribute('aria-label', this.label);
    this.tools = document.createElement('div');
    this.tools.className = 'chart-tools';
    this.plot = document.createElement('div');
    this.plot.className = 'plot';
    this.plot.style.minHeight = `${plotHeight(height)}px`;
    this.summary = document.createElement('figcaption');
    this.summary.className = 'chart-summary';
    this.summary.id = `chart-summary-${uid}`;
    this.figure.setAttribute('aria-describedby', this.summary.id);
    this.figure.append(this.tools, this.plot, this.summary);
    container.append(this.figure);
    this.Plotly = null;
    this.onScreen = !observer;
    this.drawn = false;
    this.is3d = false;
    this.camera = null; // set by the keyboard; mouse turns are kept by plotly (uirevision)
    this.addTools();
    charts.set(this.plot, this);
    observer?.observe(this.plot);
    window.addEventListener('ftlab:theme', () => this.invalidate());
    loadPlotly()
      .then((Plotly) => {
        this.Plotly = Plotly;
        this.invalidate();
      })
      .catch((err) => {
        this.plot.textContent = `${err.message}; the text below still describes the data.`;
      });
  }

  addTools() {
    const button = (text, title, onClick) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = text;
      b.title = title;
      b.addEventListener('click', onClick);
      return b;
    };
    this.hint = document.createElement('span');
    this.hint.className = 'chart-hint';
    // One toolbar, one Tab stop: the arrow keys go from Reset view to Download PNG.
    const buttons = [
      button('Reset view', `Reset the view of: ${this.label}`, () => this.resetView()),
      button('Download PNG', `Save ${this.label} as a PNG image`, () => this.download()),
    ];
    this.tools.setAttribute('role', 'toolbar');
    this.tools.setAttribute('aria-label', `Tools for: ${this.label}`);
    this.tools.append(...buttons, this.hint);
    rovingFocus(this.tools, buttons);
    this.plot.addEventListener('keydown', (e) => this.onKey(e));
  }

  // Called after data changes: the text now, the drawing when the chart is on screen.
  invalidate() {
    this.summary.textContent = this.describe();
    if (this.Plotly && !this.kindKnown) {
      // A 3D scene is a Tab stop before its first draw: Tab reaches it, and focus scrolls it into view
      // (which draws it), rather than passing it while its draw is still queued.
      this.kindKnown = true;
      this.setThreeD(Boolean(this.layout().scene));
    }
    if (this.Plotly && this.onScreen) queueDraw(this);
  }

  setOnScreen(on) {
    this.onScreen = on;
    if (on) this.invalidate();
    else if (this.drawn && this.Plotly) {
      this.Plotly.purge(this.plot); // frees the WebGL context of a 3D scene
      this.drawn = false;
      this.plot.dataset.drawn = 'no';
    }
  }

  fullLayout() {
    const projector = document.documentElement.classList.contains('projector');
    // Chart type grows with the page's body type (17 px on a laptop, 22 px in projector mode).
    const body = parseFloat(getComputedStyle(document.documentElement).fontSize) || LAPTOP_BODY_PX;
    const size = this.fontSize || (projector ? Math.round((BASE_LAYOUT.font.size * body) / LAPTOP_BODY_PX) : BASE_LAYOUT.font.size);
    const factor = size / BASE_LAYOUT.font.size;
    const own = factor === 1 ? this.layout() : scaleFonts(this.layout(), factor);
    const layout = {
      ...BASE_LAYOUT,
      font: { ...BASE_LAYOUT.font, size },
      height: projector ? Math.round(this.height * 1.25) : plotHeight(this.height),
      uirevision: 'keep', // a redraw with new data keeps the user's zoom and camera
      ...own,
    };
    if (layout.scene) layout.scene = quietScene(layout.scene);
    if (layout.scene && this.camera) layout.scene = { ...layout.scene, camera: this.camera };
    return layout;
  }

  draw(force = false) {
    if (!this.Plotly || !(this.onScreen || force) || !this.plot.isConnected) return;
    const layout = this.fullLayout();
    this.defaultCamera ||= layout.scene?.camera;
    this.setThreeD(Boolean(layout.scene));
    // Series arrays grow in place; Plotly.react redraws them only when datarevision changes.
    this.revision = (this.revision || 0) + 1;
    this.drawing = this.Plotly.react(this.plot, this.traces().map(quietTrace), { ...layout, datarevision: this.revision }, PLOT_CONFIG);
    if (this.is3d) this.drawing.then(() => calmScene(this.plot)).catch(() => {});
    this.drawn = true;
    this.plot.dataset.drawn = 'yes';
    this.summary.textContent = this.describe();
  }

  setThreeD(on) {
    if (on === this.is3d) return;
    this.is3d = on;
    if (on) {
      this.plot.tabIndex = 0;
      this.plot.setAttribute('role', 'group');
      this.plot.setAttribute('aria-label', `${this.label}. Arrow keys turn the view; + and − zoom.`);
      this.plot.setAttribute('aria-describedby', this.summary.id);
      this.hint.textContent = 'Click the plot, then arrow keys turn it, + and − zoom.';
      if (touchFirst()) this.holdTouch(true);
    } else {
      this.holdTouch(false);
      this.plot.removeAttribute('tabindex');
      this.plot.removeAttribute('role');
      this.plot.removeAttribute('aria-label');
      this.plot.removeAttribute('aria-describedby');
      this.hint.textContent = '';
    }
  }

  // On touch screens a 3D plot starts "held": its scene ignores fingers (CSS .touch-held), so a swipe
  // over it scrolls the page. A tap on it (or focusing it by keyboard) lets it turn; a tap elsewhere
  // holds it again.
  holdTouch(on) {
    this.plot.classList.toggle('touch-held', on);
    if (on) this.hint.textContent = 'Swipe to scroll past. Tap the plot to turn it with a finger.';
    if (this.touchWired || !on) return;
    this.touchWired = true;
    this.plot.addEventListener('click', () => {
      if (!this.plot.classList.contains('touch-held')) return;
      this.plot.classList.remove('touch-held');
      this.hint.textContent = 'Turn the plot with a finger; tap outside it to scroll again.';
    });
    document.addEventListener('pointerdown', (e) => {
      if (this.is3d && !this.plot.contains(e.target) && touchFirst()) this.holdTouch(true);
    });
  }

  currentCamera() {
    const scene = this.plot._fullLayout?.scene; // plotly keeps the camera the mouse left here
    const eye = scene?.camera?.eye || this.camera?.eye || this.defaultCamera?.eye || { x: 1.25, y: 1.25, z: 1.25 };
    return { ...(scene?.camera || this.defaultCamera || {}), eye: { ...eye } };
  }

  onKey(e) {
    if (!this.is3d || !this.drawn) return;
    const camera = this.currentCamera();
    const eye = turn(camera.eye, e.key);
    if (!eye) return;
    e.preventDefault();
    this.camera = { ...camera, eye };
    this.Plotly.relayout(this.plot, { 'scene.camera': this.camera });
  }

  resetView() {
    if (!this.drawn) return;
    if (this.is3d) {
      this.camera = null;
      this.Plotly.relayout(this.plot, { 'scene.camera': this.defaultCamera || { eye: { x: 1.25, y: 1.25, z: 1.25 } } });
    } else {
      this.Plotly.relayout(this.plot, { 'xaxis.autorange': true, 'yaxis.autorange': true });
    }
  }

  async download() {
    if (!this.Plotly) return;
    if (!this.drawn) this.draw(true); // scrolled here a moment ago: its draw may still be queued
    await this.drawing;
    const name = this.label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
    await this.Plotly.downloadImage(this.plot, { format: 'png', filename: name || 'ftlab-chart' });
  }

  traces() {
    return [];
  }

  layout() {
    return {};
  }

  describe() {
    return '';
  }
}
