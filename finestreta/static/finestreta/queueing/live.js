// The desk and the supervisor's view, live: the page's socket says "changed" when the queue or
// the desks change, and the page fetches its live fragment again (the server renders it). The
// fragment is also fetched every 30 seconds (the clocks move) and when the socket comes back.
// Focus stays where it was (the element with the same id), so a keyboard user is not thrown
// back to the top; a new offer is announced in the alert banner and, once sound alerts are on
// in the waiting room page, with the chime.

import { Signaling } from "../video/signaling.js";
import { Texts } from "../video/texts.js";

const $ = (id) => document.getElementById(id);
const SOUND_KEY = "finestreta.video.lobby-sound";
const REFRESH_EVERY = 30000;

class LivePage {
  constructor(root) {
    this.root = root;
    this.box = $("live");
    this.texts = new Texts(document);
    this.offer = this.box.querySelector("[data-offer]")?.dataset.offer || "";
    this.fetching = null;
    this.again = false;
    this.chime = root.dataset.sound ? new Audio(root.dataset.sound) : null;
    this.signaling = new Signaling({
      path: root.dataset.socket,
      onMessage: (message) => {
        if (message.type === "changed" || message.type === "welcome") this.refresh();
      },
      onOpen: () => this.live("on"),
      onDown: () => this.live("off"),
      onRefused: () => this.live("refused"),
    });
    setInterval(() => this.refresh(), REFRESH_EVERY);
  }

  start() {
    this.signaling.start();
  }

  live(state) {
    this.root.dataset.live = state;
    $("live-state").textContent = this.texts.get(`live-${state}`);
  }

  async refresh() {
    if (this.fetching) {
      this.again = true; // one more fetch after this one: a change may have come meanwhile
      return;
    }
    this.fetching = fetch(this.root.dataset.liveUrl, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "text/html" },
    });
    try {
      const response = await this.fetching;
      if (response.ok) this.show(await response.text());
      else if (response.status === 403 || response.redirected) this.live("refused");
    } catch {
      // Offline a moment: the socket's reconnection brings the next refresh.
    } finally {
      this.fetching = null;
    }
    if (this.again) {
      this.again = false;
      this.refresh();
    }
  }

  show(html) {
    const focused = document.activeElement?.id;
    const template = document.createElement("template");
    template.innerHTML = html;
    this.box.replaceChildren(template.content);
    if (focused && this.box.querySelector(`#${CSS.escape(focused)}`) && !this.box.contains(document.activeElement)) {
      $(focused).focus();
    }
    const offer = this.box.querySelector("[data-offer]");
    const id = offer?.dataset.offer || "";
    if (id && id !== this.offer) this.announce(offer);
    this.offer = id;
    this.root.dataset.updated = String(Date.now()); // for the tests
  }

  announce(offer) {
    const banner = $("live-alert");
    if (!banner) return;
    banner.textContent = offer.querySelector("[data-announce]")?.dataset.announce || "";
    if (this.chime && localStorage.getItem(SOUND_KEY) === "on") {
      this.chime.currentTime = 0;
      this.chime.play().catch(() => {});
    }
  }
}

const root = $("live-page");
if (root) {
  const page = new LivePage(root);
  window.finestretaLive = page; // for the browser tests and for debugging
  page.start();
}
