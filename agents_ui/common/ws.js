// A reconnecting websocket client for /ws/agent and /ws/supervisor (PROTOCOL.md):
// - the first message is {"type": "auth", "token"}; the answer to it (an ack, or for the
//   supervisor socket possibly the snapshot itself) marks the session as live;
// - requests carry a client-chosen `id` and resolve with the `ack` data or reject with the
//   `error` {code, message};
// - pushes carry `seq`; the client keeps the last one and reports gaps;
// - a dropped socket is reopened with exponential backoff and jitter, and the session is
//   re-authenticated (the auth ack carries what a console needs to resume).

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 15000;
const REQUEST_TIMEOUT_MS = 10000;
const PING_EVERY_MS = 15000;
const SILENCE_LIMIT_MS = 40000;
export const UNAUTHORIZED_CLOSE = 4401;

export class RequestError extends Error {
  constructor(code, message, fields) {
    super(message || code);
    this.code = code;
    this.fields = fields || [];
  }
}

/** The websocket URL of `path` on the page's own server (ws: or wss:). */
export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

export class ReconnectingClient {
  /**
   * @param {object} options
   * @param {string} options.url websocket URL
   * @param {() => string} options.token the bearer token to authenticate with
   * @param {(data: object, msg: object) => void} options.onAuthed called after each (re)auth
   * @param {(msg: object) => void} options.onPush every server push (not acks/errors)
   * @param {(status: string, detail: object) => void} options.onStatus
   *        "connecting" | "online" | "reconnecting" | "offline" | "unauthorized"
   * @param {(expected: number, got: number) => void} [options.onGap] a push seq was skipped
   * @param {(msg: object) => boolean} [options.isAuthAnswer] a non-ack message that also
   *        completes auth (the supervisor's snapshot)
   */
  constructor(options) {
    this.options = options;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.lastSeq = null;
    this.attempt = 0;
    this.authed = false;
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    this.authId = null;
    // Successful authentications so far (2 and more: the client has reconnected).
    this.connects = 0;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  /** Close for good (logout): no reconnect. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.failPending("client.closed", "connection closed");
    if (this.ws) this.ws.close(1000, "bye");
    this.ws = null;
  }

  get online() {
    return this.authed && this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  open() {
    clearTimeout(this.retryTimer);
    this.status(this.attempt === 0 ? "connecting" : "reconnecting", { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.options.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.authed = false;
    ws.addEventListener("open", () => {
      this.lastHeard = Date.now();
      this.authId = this.newId("auth");
      const auth = { type: "auth", id: this.authId, token: this.options.token() };
      if (this.lastSeq !== null) auth.last_seq = this.lastSeq;
      ws.send(JSON.stringify(auth));
    });
    ws.addEventListener("message", (event) => this.receive(ws, event.data));
    ws.addEventListener("close", (event) => this.closed(ws, event));
    // An "error" event is always followed by "close"; nothing to do here.
    ws.addEventListener("error", () => {});
  }

  receive(ws, raw) {
    if (ws !== this.ws) return;
    this.lastHeard = Date.now();
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    if (!this.authed) {
      const isAck = msg.type === "ack" && msg.id === this.authId;
      const isOther = this.options.isAuthAnswer && this.options.isAuthAnswer(msg);
      if (msg.type === "error" && msg.id === this.authId) {
        this.status("unauthorized", { code: msg.code, message: msg.message });
        this.stop();
        return;
      }
      if (isAck || isOther) {
        this.authed = true;
        this.connects += 1;
        this.attempt = 0;
        this.startPings();
        // The server says where its push sequence stands (it restarts at 0 with the server).
        if (isAck && msg.data && typeof msg.data.seq === "number") this.lastSeq = msg.data.seq;
        this.status("online", { connects: this.connects });
        this.options.onAuthed(isAck ? msg.data || {} : {}, msg);
        if (isAck) return;
      } else if (msg.type !== "ack" && msg.type !== "error" && msg.type !== "pong") {
        // A push before the auth answer (some servers send state first): handle it.
        this.handlePush(msg);
        return;
      }
    }
    if (msg.type === "ack" || msg.type === "error") {
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      clearTimeout(waiter.timer);
      if (msg.type === "ack") waiter.resolve(msg.data || {});
      else waiter.reject(new RequestError(msg.code, msg.message, msg.fields));
      return;
    }
    if (msg.type === "pong") return;
    this.handlePush(msg);
  }

  handlePush(msg) {
    if (typeof msg.seq === "number") {
      if (this.lastSeq !== null && msg.seq > this.lastSeq + 1 && this.options.onGap) {
        this.options.onGap(this.lastSeq + 1, msg.seq);
      }
      if (this.lastSeq !== null && msg.seq <= this.lastSeq) return; // a repeat after resume
      this.lastSeq = msg.seq;
    }
    this.options.onPush(msg);
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    clearInterval(this.pingTimer);
    this.ws = null;
    const wasAuthed = this.authed;
    this.authed = false;
    this.failPending("client.offline", "connection lost");
    if (event.code === UNAUTHORIZED_CLOSE) {
      this.status("unauthorized", { code: "auth.invalid_token", message: event.reason });
      this.stopped = true;
      return;
    }
    if (this.stopped) {
      this.status("offline", {});
      return;
    }
    if (wasAuthed) this.attempt = 0;
    this.scheduleRetry();
  }

  scheduleRetry() {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.status("reconnecting", { attempt: this.attempt, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** Reconnect now (the "retry now" link), skipping the rest of the backoff. */
  retryNow() {
    if (this.stopped || this.ws) return;
    this.open();
  }

  startPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        // Half-open connection: nothing heard for too long. Drop it and reconnect.
        ws.close(4000, "silent");
        return;
      }
      ws.send(JSON.stringify({ type: "ping", id: this.newId("ping") }));
    }, PING_EVERY_MS);
  }

  newId(prefix = "r") {
    const id = `${prefix}-${this.nextId}`;
    this.nextId += 1;
    return id;
  }

  /** Send a request; resolves with the ack's `data`, rejects with a RequestError. */
  request(type, fields = {}) {
    if (!this.online) {
      return Promise.reject(new RequestError("client.offline", "not connected: reconnecting"));
    }
    const id = this.newId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RequestError("client.timeout", "no answer from the server"));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...fields, type, id }));
    });
  }

  failPending(code, message) {
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(new RequestError(code, message));
    }
    this.pending.clear();
  }

  status(name, detail) {
    this.options.onStatus(name, detail);
  }
}
