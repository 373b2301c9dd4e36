// A class socket (JSON messages) that reconnects with backoff. The server sends whole states, not
// deltas, so a reconnect needs nothing replayed: the next message is the full picture.
export class ClassSocket {
  constructor(path, { onMessage, onStatus = () => {}, baseDelayMs = 500, maxDelayMs = 10000 }) {
    this.path = path;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.attempt = 0;
    this.closed = false;
    this.socket = null;
    this.timer = null;
  }

  open() {
    if (this.closed) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.onStatus(this.attempt ? 'reconnecting' : 'connecting');
    const socket = new WebSocket(`${proto}//${location.host}${this.path}`);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.onStatus('live');
    };
    socket.onmessage = (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      this.onMessage(data);
    };
    socket.onclose = (ev) => {
      this.socket = null;
      if (this.closed) return;
      // 1000: the class closed; 1008: refused (not allowed); 4404: no such class.
      if (ev.code === 1000 || ev.code === 1008 || ev.code === 4404) {
        this.close(ev.code === 1000 ? 'class closed' : 'refused');
        return;
      }
      const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.attempt);
      this.attempt += 1;
      this.onStatus('reconnecting');
      this.timer = setTimeout(() => this.open(), delay * (0.75 + Math.random() * 0.5));
    };
    socket.onerror = () => {};
  }

  close(reason = 'closed') {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
    this.socket = null;
    this.onStatus(reason);
  }
}
