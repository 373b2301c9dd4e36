// Loads the vendored plotly.js (served by our own server from the installed Python package) once,
// on first need, so text and controls render before the 1.4 MB library arrives.
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
