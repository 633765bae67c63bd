// The staff's video waiting room: the list rendered by the server, then kept live over the
// lobby WebSocket (welcome with waiting[], waiting, left, admitted, callback-requested,
// room-ended). A new arrival shows in a banner (role="alert") and, once sound alerts are on,
// plays the chime: browsers only play sound after the person has used the page, so the button
// that turns the alerts on is also the interaction that allows them.

import { Signaling } from "./signaling.js";
import { Texts, clock } from "./texts.js";

const $ = (id) => document.getElementById(id);
const SOUND_KEY = "finestreta.video.lobby-sound";

class Lobby {
  constructor(root) {
    this.root = root;
    this.texts = new Texts(document);
    this.list = $("waiting-list");
    this.entries = new Map();
    for (const item of this.list.querySelectorAll("li[data-peer]")) {
      this.entries.set(item.dataset.peer, item);
    }
    this.chime = new Audio(root.dataset.sound);
    this.chime.preload = "auto";
    this.soundOn = localStorage.getItem(SOUND_KEY) === "on";
    $("toggle-sound").addEventListener("click", () => this.toggleSound());
    this.showSound();
    this.signaling = new Signaling({
      path: root.dataset.socket,
      onMessage: (message) => this.onMessage(message),
      onOpen: () => this.live("on"),
      onDown: () => this.live("off"),
      onRefused: () => this.live("refused"),
    });
  }

  start() {
    this.signaling.start();
  }

  live(state) {
    this.root.dataset.live = state;
    $("live-state").textContent = this.texts.get(`live-${state}`);
  }

  onMessage(message) {
    switch (message.type) {
      case "welcome": {
        const now = new Set((message.waiting || []).map((person) => person.peer));
        for (const peer of [...this.entries.keys()]) if (!now.has(peer)) this.remove(peer);
        for (const person of message.waiting || []) this.add(person, false);
        break;
      }
      case "waiting":
        this.add(message, true);
        break;
      case "left":
      case "admitted":
        this.remove(message.peer);
        break;
      case "callback-requested":
        this.callback(message);
        break;
      case "room-ended":
        for (const [peer, item] of [...this.entries]) {
          if (item.dataset.room === message.room) this.remove(peer);
        }
        break;
      default:
        break;
    }
  }

  add(person, alert) {
    if (this.entries.has(person.peer)) return; // already listed (or reconnected)
    const name = person.name || this.texts.get("someone");
    const item = document.createElement("li");
    item.className = "card waiting-entry";
    item.dataset.peer = person.peer;
    item.dataset.room = person.room;
    const link = document.createElement("a");
    link.className = "waiting-link";
    link.href = this.root.dataset.roomUrl.replace(/ROOM\/$/, `${encodeURIComponent(person.room)}/`);
    link.textContent = name;
    const since = document.createElement("p");
    since.className = "small";
    const time = document.createElement("time");
    time.dateTime = person.since || "";
    time.textContent = this.texts.get("waiting-since", {
      time: clock(person.since, this.root.dataset.timeZone),
    });
    since.append(time);
    const note = document.createElement("p");
    note.className = "small callback-note";
    note.hidden = true;
    item.append(link, since, note);
    this.list.append(item);
    this.entries.set(person.peer, item);
    $("nobody-waiting").hidden = true;
    if (alert) this.alert(this.texts.get("waiting-alert", { name }), link.href);
  }

  remove(peer) {
    const item = this.entries.get(peer);
    if (!item) return;
    item.remove();
    this.entries.delete(peer);
    $("nobody-waiting").hidden = this.entries.size > 0;
  }

  callback(message) {
    const item = this.entries.get(message.peer);
    const name = item?.querySelector(".waiting-link").textContent || this.texts.get("someone");
    if (item) {
      const note = item.querySelector(".callback-note");
      note.textContent = this.texts.get("callback-note", { phone: message.phone });
      note.hidden = false;
    }
    this.alert(
      this.texts.get("callback-alert", { name, phone: message.phone }),
      item?.querySelector(".waiting-link").href,
    );
  }

  alert(text, href) {
    const banner = $("lobby-alert");
    banner.replaceChildren();
    if (href) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = text;
      banner.append(link);
    } else {
      banner.textContent = text;
    }
    if (this.soundOn) {
      this.chime.currentTime = 0;
      this.chime.play().catch(() => {}); // not yet allowed: the banner still shows
    }
  }

  toggleSound() {
    this.soundOn = !this.soundOn;
    localStorage.setItem(SOUND_KEY, this.soundOn ? "on" : "off");
    this.showSound();
    if (this.soundOn) {
      // This click is the interaction browsers ask for: play once so that later alerts may.
      this.chime.currentTime = 0;
      this.chime.play().catch(() => {});
    }
  }

  showSound() {
    $("toggle-sound").setAttribute("aria-pressed", this.soundOn ? "true" : "false");
    $("sound-state").textContent = this.texts.get(this.soundOn ? "sound-on" : "sound-off");
  }
}

const root = $("lobby");
if (root) {
  const lobby = new Lobby(root);
  window.finestretaLobby = lobby; // for the browser tests and for debugging
  lobby.start();
}
