// The citizen's waiting room: the messages staff send while the person waits, and the request
// to be called by telephone instead (with an optional number; the booking's number otherwise).

import { clock } from "./texts.js";

const $ = (id) => document.getElementById(id);

export class WaitingRoom {
  constructor(call, texts) {
    this.call = call;
    this.texts = texts;
    this.pendingCallback = false;
    $("callback-form")?.addEventListener("submit", (event) => this.requestCallback(event));
  }

  showNotices(notices) {
    const list = $("notices");
    if (!list) return;
    list.replaceChildren();
    for (const notice of notices) this.addNotice(notice);
  }

  addNotice(notice) {
    const list = $("notices");
    if (!list) return;
    const item = document.createElement("li");
    const time = document.createElement("time");
    time.dateTime = notice.at || "";
    time.textContent = `${clock(notice.at, this.call.timeZone)} `;
    item.append(time, document.createTextNode(notice.text));
    list.append(item);
    $("no-notices").hidden = true;
  }

  requestCallback(event) {
    event.preventDefault();
    const phone = $("callback-phone").value.trim();
    if (this.call.send({ type: "callback", phone })) {
      this.pendingCallback = true;
    } else {
      $("callback-result").textContent = this.texts.get("callback-offline");
    }
  }

  callbackNoted(message) {
    this.pendingCallback = false;
    $("callback-result").textContent = this.texts.get("callback-noted", { phone: message.phone });
  }

  // An error that answers the request (a number that is not valid). True if handled.
  onError(message) {
    if (!this.pendingCallback || message.code !== "bad_message") return false;
    this.pendingCallback = false;
    $("callback-result").textContent = this.texts.get("callback-failed");
    return true;
  }
}
