// Okabe–Ito colours (safe for the common colour-vision deficiencies) and a dash per series,
// so no chart relies on colour alone.
export const COLORS = {
  black: '#000000',
  orange: '#E69F00',
  sky: '#56B4E9',
  green: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  grey: '#8c8c8c',
};

// One colour + dash per method, used by every chart and table.
export const METHOD_STYLE = {
  full: { color: COLORS.vermillion, dash: 'solid', symbol: 'circle' },
  lora: { color: COLORS.blue, dash: 'dash', symbol: 'square' },
  qlora: { color: COLORS.sky, dash: 'dot', symbol: 'diamond' },
  prompt: { color: COLORS.orange, dash: 'dashdot', symbol: 'triangle-up' },
  prefix: { color: COLORS.purple, dash: 'longdash', symbol: 'cross' },
  head: { color: COLORS.green, dash: 'longdashdot', symbol: 'x' },
  sft: { color: COLORS.black, dash: 'solid', symbol: 'star' },
  dpo: { color: COLORS.grey, dash: 'dash', symbol: 'hexagon' },
};

export function methodStyle(method) {
  return METHOD_STYLE[method] || { color: COLORS.black, dash: 'solid', symbol: 'circle' };
}

// Sequential colour scale (blue → green → yellow), all Okabe–Ito hues, for surfaces.
export const SURFACE_SCALE = [
  [0, '#0072B2'],
  [0.5, '#009E73'],
  [1, '#F0E442'],
];

// Plot layout pieces shared by every chart: readable fonts on a projector, no plotly logo.
export const BASE_LAYOUT = {
  font: { family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', size: 15 },
  paper_bgcolor: 'rgba(0,0,0,0)',
  plot_bgcolor: 'rgba(0,0,0,0)',
  margin: { l: 60, r: 20, t: 36, b: 50 },
};

// Plotly's own toolbar is off: each chart has its own Reset view and Download PNG buttons (fewer Tab
// stops, nothing over the plot's title on touch). Nothing may offer to send the data off this server.
export const PLOT_CONFIG = {
  displaylogo: false,
  responsive: true,
  displayModeBar: false,
  modeBarButtonsToRemove: ['sendDataToCloud', 'editInChartStudio'],
  showSendToCloud: false,
  showEditInChartStudio: false,
  showLink: false,
  scrollZoom: false,
  // 3D scenes draw at one device pixel per CSS pixel (plotly's default, 2, draws four times as many
  // pixels: with software WebGL each frame of a drag took that much longer).
  plotGlPixelRatio: 1,
};
