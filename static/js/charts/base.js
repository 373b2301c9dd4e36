// Shared chart plumbing: a plot area plus a text alternative, redrawn at most once a frame.
// Subclasses keep their data in plain arrays and implement traces() and layout().
import { loadPlotly } from '../plotly.js';
import { BASE_LAYOUT, PLOT_CONFIG } from '../palette.js';

export class Chart {
  constructor(container, { label, height = 360 } = {}) {
    this.container = container;
    this.plot = document.createElement('div');
    this.plot.className = 'plot';
    this.plot.style.minHeight = `${height}px`;
    this.plot.setAttribute('role', 'img');
    this.plot.setAttribute('aria-label', label || 'chart');
    this.height = height;
    this.summary = document.createElement('p');
    this.summary.className = 'chart-summary';
    container.append(this.plot, this.summary);
    this.pending = false;
    this.Plotly = null;
    window.addEventListener('ftlab:theme', () => this.invalidate());
    loadPlotly()
      .then((Plotly) => {
        this.Plotly = Plotly;
        this.render();
      })
      .catch((err) => {
        this.plot.textContent = `${err.message}; the text below still describes the data.`;
      });
  }

  // Called after data changes; coalesces bursts of events into one redraw.
  invalidate() {
    this.summary.textContent = this.describe();
    if (this.pending || !this.Plotly) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    if (!this.Plotly) return;
    const projector = document.documentElement.classList.contains('projector');
    const font = { ...BASE_LAYOUT.font, size: projector ? 20 : BASE_LAYOUT.font.size };
    const layout = { ...BASE_LAYOUT, font, height: projector ? Math.round(this.height * 1.25) : this.height, ...this.layout() };
    // Series arrays grow in place; Plotly.react redraws them only when datarevision changes.
    this.revision = (this.revision || 0) + 1;
    this.Plotly.react(this.plot, this.traces(), { ...layout, datarevision: this.revision }, PLOT_CONFIG);
    this.summary.textContent = this.describe();
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
