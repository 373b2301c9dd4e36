// Turning a 3D plot by keyboard: the camera eye moved on a sphere around the scene's centre.
const TURN = Math.PI / 12; // 15° per arrow key press
const ZOOM = 1.15;

// The camera eye after one key press (turn about the vertical axis, tilt, zoom), or null.
export function turn(eye, key) {
  const r = Math.hypot(eye.x, eye.y, eye.z) || 1;
  let azimuth = Math.atan2(eye.y, eye.x);
  let elevation = Math.asin(Math.max(-1, Math.min(1, eye.z / r)));
  let distance = r;
  if (key === 'ArrowLeft') azimuth -= TURN;
  else if (key === 'ArrowRight') azimuth += TURN;
  else if (key === 'ArrowUp') elevation = Math.min(1.45, elevation + TURN);
  else if (key === 'ArrowDown') elevation = Math.max(-1.45, elevation - TURN);
  else if (key === '+' || key === '=') distance /= ZOOM;
  else if (key === '-' || key === '_') distance *= ZOOM;
  else return null;
  return {
    x: distance * Math.cos(elevation) * Math.cos(azimuth),
    y: distance * Math.cos(elevation) * Math.sin(azimuth),
    z: distance * Math.sin(elevation),
  };
}
