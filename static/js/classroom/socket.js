// A class socket (JSON messages) that reconnects with backoff. The server sends whole states, not
// deltas, so a reconnect needs nothing replayed: the next message is the full picture.
import { ReconnectingSocket } from '../ws.js';

export class ClassSocket extends ReconnectingSocket {
  constructor(path, { onMessage, ...options }) {
    super(options);
    this.path = path;
    this.onMessage = onMessage;
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}${this.path}`;
  }

  receive(data) {
    this.onMessage(data);
  }

  // 1000: the class closed; 1008: refused (not allowed); 4404: no such class.
  stopReason(code) {
    if (code === 1000) return 'class closed';
    return code === 1008 || code === 4404 ? 'refused' : null;
  }
}
