// What staff have beside the call: who is waiting (with an Admit button each), a message to
// the waiting person, the requests to be called by telephone, and ending the call.

import { clock } from "./texts.js";

const $ = (id) => document.getElementById(id);
// Why a recording was not started or stopped (the server's message is in the person's language).
const RECORDING_ERRORS = ["never", "no_consent", "not_configured", "recording", "not_recording", "not_allowed", "ended"];

export class StaffPanel {
  constructor(call, texts) {
    this.call = call;
    this.texts = texts;
    this.waiting = new Map(); // peer id → { name, element }
    this.pendingNotice = false;
    $("notice-form")?.addEventListener("submit", (event) => this.sendNotice(event));
    $("end-call")?.addEventListener("click", () => this.call.send({ type: "end" }));
    this.recordButton = $("toggle-recording");
    this.recordAsked = false;
    this.recordButton?.addEventListener("click", () => this.toggleRecording());
  }

  // Start or stop recording: the server checks the rules and everyone's consent, and answers
  // with `recording` (to everyone) or an `error` saying why not (to this page).
  toggleRecording() {
    const on = this.recordButton.getAttribute("aria-pressed") !== "true";
    const result = $("recording-result");
    if (!this.call.send({ type: "record", on })) {
      result.textContent = this.texts.get("record-offline");
      return;
    }
    this.recordAsked = true;
    this.recordButton.disabled = true;
    result.textContent = on ? this.texts.get("record-asked") : "";
  }

  recording(message) {
    const button = this.recordButton;
    if (!button) return;
    const on = Boolean(message && message.on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = this.texts.get(on ? "record-stop" : "record-start");
    button.disabled = false;
    if (this.recordAsked) $("recording-result").textContent = "";
    this.recordAsked = false;
  }

  welcome(message) {
    for (const peer of [...this.waiting.keys()]) this.remove(peer);
    for (const person of message.waiting || []) this.add(person, false);
  }

  onMessage(message) {
    switch (message.type) {
      case "waiting":
        return this.add(message, true);
      case "left":
        return this.remove(message.peer);
      case "callback-requested":
        return this.callback(message);
      default:
        return undefined; // room-ended (the "ended" that follows says it), files, newer types
    }
  }

  // {type: "admitted", peer}: a waiting person was let in (by anyone in the room).
  admitted(message) {
    this.remove(message.peer);
  }

  name(peer) {
    return this.waiting.get(peer)?.name || this.call.known.get(peer)?.name || this.texts.get("someone");
  }

  add(person, alert) {
    const list = $("waiting-people");
    if (!list) return;
    const known = this.waiting.get(person.peer);
    if (known) {
      known.element.remove();
      alert = false; // the same person, reconnected: no new alert
    }
    const name = person.name || this.texts.get("someone");
    const item = document.createElement("li");
    item.className = "waiting-person";
    item.dataset.peer = person.peer;
    const label = document.createElement("span");
    label.className = "waiting-name";
    label.textContent = name;
    const since = document.createElement("span");
    since.className = "small";
    since.textContent = ` ${this.texts.get("waiting-since", { time: clock(person.since, this.call.timeZone) })} `;
    const admit = document.createElement("button");
    admit.type = "button";
    admit.className = "button admit";
    admit.textContent = this.texts.get("admit-name", { name });
    admit.addEventListener("click", () => {
      admit.disabled = true;
      if (!this.call.send({ type: "admit", peer: person.peer })) admit.disabled = false;
    });
    item.append(label, since, admit);
    list.append(item);
    this.waiting.set(person.peer, { name, element: item });
    this.call.known.set(person.peer, { peer: person.peer, name, role: "citizen" });
    $("nobody-waiting").hidden = true;
    if (alert) this.alert(this.texts.get("waiting-alert", { name }));
  }

  remove(peer) {
    const found = this.waiting.get(peer);
    if (!found) return;
    found.element.remove();
    this.waiting.delete(peer);
    $("nobody-waiting").hidden = this.waiting.size > 0;
  }

  callback(message) {
    const list = $("callback-list");
    if (!list) return;
    const name = this.name(message.peer);
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `tel:${message.phone.replace(/\s+/g, "")}`;
    link.textContent = this.texts.get("callback-entry", { name, phone: message.phone });
    item.append(link);
    list.append(item);
    $("no-callbacks").hidden = true;
    this.alert(this.texts.get("callback-alert", { name, phone: message.phone }));
  }

  alert(text) {
    const banner = $("staff-alert");
    if (banner) banner.textContent = text;
    const sound = new Audio(this.call.root.dataset.sound);
    sound.play().catch(() => {}); // blocked until the page was used once: the banner remains
  }

  sendNotice(event) {
    event.preventDefault();
    const field = $("notice-text");
    const text = field.value.trim();
    if (!text) return;
    if (this.call.send({ type: "notice", text })) {
      field.value = "";
      this.pendingNotice = true;
      $("notice-result").textContent = this.texts.get("notice-sent");
      setTimeout(() => (this.pendingNotice = false), 3000);
    } else {
      $("notice-result").textContent = this.texts.get("notice-failed");
    }
  }

  // An error that answers a notice (too long, not allowed), or a recording refused: say so.
  // True if handled.
  onError(message) {
    if (this.recordAsked && RECORDING_ERRORS.includes(message.code)) {
      this.recordAsked = false;
      this.recordButton.disabled = false;
      $("recording-result").textContent = message.message;
      return true;
    }
    if (!this.pendingNotice || !["too_long", "not_allowed", "bad_message"].includes(message.code)) {
      return false;
    }
    this.pendingNotice = false;
    $("notice-result").textContent = this.texts.get("notice-failed");
    return true;
  }
}
