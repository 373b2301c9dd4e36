// Hover and drag on a plotly 3D scene, made affordable for software WebGL (a school laptop without a
// GPU driver). Inside plotly, gl-plot3d picks the object under the mouse on every mouse move and then
// redraws the whole scene (0.5–0.9 s a frame with SwiftShader), and while the camera turns it draws
// every frame twice, once more into its pick buffer. Here the pick runs once the mouse rests, and the
// pick buffer is drawn again only when a drag ends. It reaches into plotly's scene object
// (`_fullLayout.scene._scene.glplot`), checked against the pinned plotly.js (scripts/plotly-bundle);
// if that object is missing, the scene keeps plotly's own behaviour.
const REST_MS = 120;

export function calmScene(plot) {
  const glplot = plot._fullLayout?.scene?._scene?.glplot;
  const picker = glplot?.mouseListener;
  if (!picker || !glplot.canvas || !Array.isArray(glplot.objects)) return false;
  if (glplot.ftlabCalm) return true;
  glplot.ftlabCalm = true;
  const canvas = glplot.canvas;
  picker.enabled = false; // gl-plot3d's own listener: now fed only by pickAt
  let timer = null;
  let picking = false;
  let held = null;

  const pickAt = (type, e) => {
    if (glplot.canvas !== canvas) return; // purged and redrawn: a new scene took over
    picking = true;
    picker.enabled = true;
    canvas.dispatchEvent(new MouseEvent(type, { clientX: e.clientX, clientY: e.clientY, buttons: 0 }));
    picker.enabled = false;
    picking = false;
  };
  canvas.addEventListener('mousemove', (e) => {
    if (picking) return;
    clearTimeout(timer);
    if (!e.buttons) timer = setTimeout(() => pickAt('mousemove', e), REST_MS);
  });
  canvas.addEventListener('mouseleave', (e) => {
    if (picking) return;
    clearTimeout(timer);
    pickAt('mouseleave', e); // clears the hover label
  });
  // Dragging: the objects draw nothing into the pick buffer until the button is let go.
  canvas.addEventListener('mousedown', () => {
    clearTimeout(timer);
    if (held) return;
    held = glplot.objects.map((obj) => [obj, obj.drawPick]);
    for (const [obj] of held) obj.drawPick = () => {};
    window.addEventListener('mouseup', release, { once: true });
  });
  function release() {
    for (const [obj, drawPick] of held || []) obj.drawPick = drawPick;
    held = null;
    glplot.setAspectratio(glplot.getAspectratio()); // marks the pick buffer stale: redrawn once
  }
  return true;
}
