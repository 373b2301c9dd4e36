// Loads plotly.js (served by our own server: a partial bundle built by scripts/plotly-bundle) once,
// on first need, so text and controls render before the library arrives. The server sends a partial
// bundle (scatter, bar, scatter3d, surface, mesh3d: 0.57 MB gzipped, not 1.47 MB) from scripts/plotly-bundle.
const SRC = '/static/vendor/plotly.min.js';
let loading = null;

export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = SRC;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        loading = null;
        reject(new Error('could not load the plotting library'));
      };
      document.head.appendChild(script);
    });
  }
  return loading;
}
