// The signaling WebSocket (docs/signaling.md): connects, says hello, pings every 20 seconds,
// and reconnects after a drop with exponential backoff and jitter (0.5, 1, 2, 4 … 10 s). A
// refusal by the server (closes 4401, 4403, 4404, 4409, 4410) is not retried: the page decides.

import { socketUrl } from "./texts.js";

const PING_EVERY = 20000;
const SILENCE_LIMIT = 45000; // no answer to pings for this long: the socket is dead
const PROBE_WAIT = 4000; // after a network change: no answer to a ping this soon, reconnect
const REFUSALS = new Set([4401, 4403, 4404, 4409, 4410]);

export function backoff(attempt) {
  const base = Math.min(10, 0.5 * 2 ** attempt);
  return base * (0.75 + Math.random() * 0.5) * 1000;
}

export class Signaling {
  // hello(): the first message to send once open (null: none, as for the lobby).
  // onMessage(message), onOpen(), onDown(), onRefused(closeCode, lastErrorCode).
  constructor({ path, hello = () => null, onMessage, onOpen, onDown, onRefused }) {
    this.url = socketUrl(path);
    this.hello = hello;
    this.onMessage = onMessage || (() => {});
    this.onOpen = onOpen || (() => {});
    this.onDown = onDown || (() => {});
    this.onRefused = onRefused || (() => {});
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.heard = 0;
    this.stopped = true;
    this.lastError = "";
    this.probing = null;
    window.addEventListener("online", () => {
      if (!this.stopped && this.timer) this.reconnectNow();
    });
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  get open() {
    return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN);
  }

  send(message) {
    if (!this.open) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  // Stop for good: no more reconnections.
  stop(code = 1000) {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    this.stopPinging();
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close(code);
    this.socket = null;
  }

  reconnectNow() {
    clearTimeout(this.timer);
    this.timer = null;
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    this.lastError = "";
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.heard = Date.now();
      const hello = this.hello();
      if (hello) socket.send(JSON.stringify(hello));
      this.startPinging();
      this.onOpen();
    });
    socket.addEventListener("message", (event) => {
      if (socket !== this.socket) return;
      this.heard = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!message || typeof message.type !== "string") return;
      if (message.type === "welcome") this.attempt = 0;
      if (message.type === "error") this.lastError = message.code || "";
      if (message.type === "pong") return;
      this.onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.stopPinging();
      if (this.stopped) return;
      if (REFUSALS.has(event.code)) {
        this.stopped = true;
        this.onRefused(event.code, this.lastError);
        return;
      }
      this.onDown();
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, backoff(this.attempt));
    this.attempt += 1;
  }

  // Is the socket still alive? After a network change (Wi-Fi to mobile data, a new address) the
  // browser may not notice a dead socket for minutes: a ping now, and with no word back within
  // PROBE_WAIT the socket is dropped and opened again (resuming, docs/signaling.md).
  probe() {
    if (!this.open || this.probing) return;
    const asked = Date.now();
    const socket = this.socket;
    this.send({ type: "ping" });
    this.probing = setTimeout(() => {
      this.probing = null;
      if (this.heard < asked) this.abandon(socket);
    }, PROBE_WAIT);
  }

  // Give up on a socket that no longer answers and open another: its closing handshake may
  // never come (its address is gone), so do not wait for the close event.
  abandon(socket) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.stopPinging();
    socket.close(4000);
    if (this.stopped) return;
    this.onDown();
    this.scheduleReconnect();
  }

  startPinging() {
    this.stopPinging();
    this.pinger = setInterval(() => {
      if (!this.open) return;
      if (Date.now() - this.heard > SILENCE_LIMIT) {
        this.abandon(this.socket); // silent for too long: drop it and reconnect
        return;
      }
      this.send({ type: "ping" });
    }, PING_EVERY);
  }

  stopPinging() {
    clearInterval(this.pinger);
    this.pinger = null;
  }
}
