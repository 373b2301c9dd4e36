// plotly.js with only the trace types the lesson and the class dashboard draw (scatter comes with
// core; bar, scatter3d, surface, mesh3d are added). A new trace type in static/js must be added here
// (tests/browser/test_plotly_bundle.py lists the types the pages use against the bundle's).
var Plotly = require('plotly.js/lib/core');

Plotly.register([
  require('plotly.js/lib/bar'),
  require('plotly.js/lib/scatter3d'),
  require('plotly.js/lib/surface'),
  require('plotly.js/lib/mesh3d'),
]);

module.exports = Plotly;
