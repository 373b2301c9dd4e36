// Websockets that come back after a drop: the job stream (replayed from ?after=<last seq>) and the
// base class the classroom's socket shares.
import { TERMINAL } from './store.js';

// A websocket of JSON messages that reconnects with jittered exponential backoff. Subclasses say
// where to connect (url), what a message does (receive) and which close codes end it (stopReason).
export class ReconnectingSocket {
  constructor({ onStatus = () => {}, baseDelayMs = 500, maxDelayMs = 10000 } = {}) {
    this.onStatus = onStatus;
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.attempt = 0;
    this.closed = false;
    this.socket = null;
    this.timer = null;
  }

  done() {
    return this.closed;
  }

  open() {
    if (this.done()) return;
    this.onStatus(this.attempt ? 'reconnecting' : 'connecting');
    const socket = new WebSocket(this.url());
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
        return; // not JSON (a ping, say)
      }
      this.receive(data);
    };
    socket.onclose = (ev) => {
      this.socket = null;
      if (this.done()) return;
      const reason = this.stopReason(ev.code);
      if (reason) {
        this.close(reason);
        return;
      }
      this.schedule();
    };
    socket.onerror = () => {}; // onclose follows and decides what to do
  }

  schedule() {
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.attempt);
    this.attempt += 1;
    this.onStatus('reconnecting');
    this.timer = setTimeout(() => this.open(), delay * (0.75 + Math.random() * 0.5));
  }

  close(reason = 'closed') {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
    this.socket = null;
    this.onStatus(reason);
  }
}

// A job's event stream: each reconnect asks for ?after=<last seq>, so a dropped connection (or a
// laptop waking from sleep) misses no event and sees none twice.
export class JobSocket extends ReconnectingSocket {
  constructor(jobId, store, options = {}) {
    super(options);
    this.jobId = jobId;
    this.store = store;
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const id = encodeURIComponent(this.jobId);
    return `${proto}//${location.host}/ws/jobs/${id}?after=${this.store.lastSeq}`;
  }

  done() {
    return this.closed || this.store.finished;
  }

  receive(event) {
    this.store.add(event);
    if (TERMINAL.has(event.type)) this.close('finished');
  }

  stopReason(code) {
    return code === 4404 || code === 1008 ? 'unknown job' : null;
  }
}

// Fallback where websockets are blocked (some school proxies): poll GET /events?after=N.
export class JobPoller {
  constructor(jobId, store, { onStatus = () => {}, intervalMs = 1000 } = {}) {
    this.jobId = jobId;
    this.store = store;
    this.onStatus = onStatus;
    this.intervalMs = intervalMs;
    this.closed = false;
  }

  async open() {
    this.onStatus('polling');
    while (!this.closed && !this.store.finished) {
      try {
        const url = `/api/jobs/${encodeURIComponent(this.jobId)}/events?after=${this.store.lastSeq}`;
        const response = await fetch(url);
        if (response.status === 404) return this.close('unknown job');
        if (response.ok) this.store.addAll(await response.json());
      } catch {
        // offline for a moment: try again on the next tick
      }
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
    if (this.store.finished) this.close('finished');
  }

  close(reason = 'closed') {
    this.closed = true;
    this.onStatus(reason);
  }
}

// Follows a job: websocket first; polling if the socket never opens after a few tries.
export function follow(jobId, store, onStatus = () => {}) {
  let opened = false;
  let current = null;
  const socket = new JobSocket(jobId, store, {
    onStatus: (status) => {
      if (status === 'live') opened = true;
      if (status === 'reconnecting' && !opened && socket.attempt >= 3) {
        socket.close('switching to polling');
        current = new JobPoller(jobId, store, { onStatus });
        current.open();
        return;
      }
      onStatus(status);
    },
  });
  current = socket;
  socket.open();
  return { close: (reason) => current.close(reason) };
}
