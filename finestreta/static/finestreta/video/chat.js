// The call's text chat (docs/signaling.md): lines shown in `seq` order; a line sent shows as
// pending until the server's copy with the same `ref` comes back (its acknowledgement), and is
// sent again after a reconnection if it never came back (the server drops repeats).

import { clock } from "./texts.js";

export class Chat {
  constructor(call, texts) {
    this.call = call;
    this.texts = texts;
    this.log = document.getElementById("chat-log"); // the scrolling box, role="log"
    this.list = document.getElementById("chat-lines");
    this.form = document.getElementById("chat-form");
    this.input = document.getElementById("chat-text");
    this.lines = new Map(); // seq → element
    this.pending = new Map(); // ref → { text, element }
    this.counter = 0;
    this.prefix = Math.random().toString(36).slice(2, 8);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.send(text);
    });
  }

  send(text) {
    this.counter += 1;
    const ref = `c-${this.prefix}-${this.counter}`;
    const element = this.render({ text, name: this.texts.get("chat-you") }, true);
    element.classList.add("chat-pending");
    const note = document.createElement("span");
    note.className = "chat-note";
    note.textContent = ` (${this.texts.get("chat-sending")})`;
    element.querySelector(".chat-meta").append(note);
    this.list.append(element);
    this.scroll();
    this.pending.set(ref, { text, element });
    this.call.send({ type: "chat", text, ref });
  }

  receive(message) {
    if (typeof message.seq !== "number") return;
    if (message.ref && message.peer === this.call.peerId) {
      const pending = this.pending.get(message.ref);
      if (pending) {
        pending.element.remove();
        this.pending.delete(message.ref);
      }
    }
    if (this.lines.has(message.seq)) return;
    const mine = message.peer === this.call.peerId;
    const element = this.render(
      { ...message, name: mine ? this.texts.get("chat-you") : message.name },
      mine,
    );
    element.dataset.seq = String(message.seq);
    this.lines.set(message.seq, element);
    // In seq order, before any line still pending (those stay last).
    const later = [...this.list.children].find(
      (child) =>
        child.classList.contains("chat-pending") || Number(child.dataset.seq) > message.seq,
    );
    this.list.insertBefore(element, later || null);
    this.scroll();
  }

  // The chat so far (from welcome), then the lines never acknowledged, sent again.
  welcome(lines) {
    for (const line of lines || []) this.receive(line);
    for (const [ref, pending] of this.pending) {
      this.call.send({ type: "chat", text: pending.text, ref });
    }
  }

  render(line, mine) {
    const item = document.createElement("li");
    item.className = mine ? "chat-line chat-mine" : "chat-line";
    const meta = document.createElement("p");
    meta.className = "chat-meta";
    const name = document.createElement("span");
    name.className = "chat-name";
    name.textContent = line.name || "";
    meta.append(name);
    if (line.at) {
      const time = document.createElement("time");
      time.dateTime = line.at;
      time.textContent = ` ${clock(line.at, this.call.timeZone)}`;
      meta.append(time);
    }
    const text = document.createElement("p");
    text.className = "chat-text";
    text.textContent = line.text;
    item.append(meta, text);
    return item;
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
