// What the call page shows: the status texts, a tile per participant (video, name, staff
// number, speaking, microphone and camera state), the control buttons and which parts of the
// page are visible in each state.

const $ = (id) => document.getElementById(id);

export class Page {
  constructor(call, texts) {
    this.call = call;
    this.texts = texts;
    this.root = call.root;
    this.tiles = $("tiles");
    this.template = $("tile-template");
    this.soundBlocked = false;
    $("unblock-sound").addEventListener("click", () => this.unblockSound());
  }

  status(key, values = {}) {
    const text = this.texts.get(key, values);
    if (text && $("call-status").textContent !== text) $("call-status").textContent = text;
  }

  addTile(peer) {
    const item = this.template.content.firstElementChild.cloneNode(true);
    item.dataset.peer = peer.id;
    this.tiles.append(item);
    const page = this;
    const video = item.querySelector(".tile-video");
    const screen = item.querySelector(".tile-screen");
    const tile = {
      element: item,
      label(of) {
        // The platform's recorder is a participant with no picture and no sound: no tile (the
        // recording banner says it is there).
        item.hidden = of.info.role === "recorder";
        item.querySelector(".tile-name").textContent = of.name;
        // Staff: their staff number; an invited guest: as what they take part.
        const number = of.info.number;
        const as = of.info.silent
          ? page.texts.get("as-listener")
          : of.info.role === "guest"
            ? page.texts.get(`as-${of.info.as}`)
            : "";
        item.querySelector(".tile-number").textContent = of.info.silent
          ? `(${as})`
          : number
          ? `(${page.texts.get("staff-number", { number })})`
          : as
            ? `(${as})`
            : "";
        video.setAttribute("aria-label", page.texts.get("video-of", { name: of.name }));
        screen.setAttribute("aria-label", page.texts.get("screen-of", { name: of.name }));
      },
      attach(main, shared) {
        if (video.srcObject !== main) video.srcObject = main;
        if (screen.srcObject !== shared) screen.srcObject = shared;
        page.play(video);
      },
      showScreen(shown) {
        screen.hidden = !shown;
        item.classList.toggle("tile-sharing", shown);
        if (shown) page.play(screen);
      },
      speaking(on) {
        item.classList.toggle("speaking", on);
        item.querySelector(".speaking-badge").hidden = !on;
      },
      media(state) {
        const words = [];
        if (!state.audio) words.push(page.texts.get("media-mic-off"));
        if (!state.video) words.push(page.texts.get("media-camera-off"));
        if (state.screen) words.push(page.texts.get("media-screen"));
        item.querySelector(".media-state").textContent = words.join(" · ");
        item.classList.toggle("camera-off", !state.video);
      },
      remove() {
        item.remove();
      },
    };
    tile.label(peer);
    return tile;
  }

  play(element) {
    if (!element.srcObject) return;
    const playing = element.play();
    if (playing && playing.catch) {
      playing.catch((error) => {
        if (error && error.name === "NotAllowedError") {
          this.soundBlocked = true; // autoplay with sound needs a click first
          $("unblock-sound").hidden = false;
        }
      });
    }
  }

  unblockSound() {
    $("unblock-sound").hidden = true;
    this.call.speaking.resume();
    for (const element of this.tiles.querySelectorAll("video")) this.play(element);
  }

  connectionChanged() {
    const states = [...this.call.peers.values()].map((peer) => peer.state);
    const order = ["connected", "connecting", "new", "disconnected", "failed", "closed"];
    const best = states.length ? order.find((s) => states.includes(s)) || states[0] : "none";
    this.root.dataset.connection = best;
    const key = {
      connected: "conn-connected",
      connecting: "conn-connecting",
      new: "conn-connecting",
      disconnected: "conn-disconnected",
      failed: "conn-failed",
    }[best];
    $("connection-status").textContent = key ? this.texts.get(key) : "";
    if (this.call.state === "admitted") {
      this.status(this.call.peers.size ? "status-in-call" : "status-alone");
    }
  }

  buttons() {
    const call = this.call;
    const press = (id, pressed, enabled = true) => {
      const button = $(id);
      button.setAttribute("aria-pressed", pressed ? "true" : "false");
      button.disabled = !enabled;
    };
    press("toggle-mic", call.muted, Boolean(call.audioTrack));
    press("toggle-camera", call.cameraOff || call.audioOnly, call.hasCamera);
    press("toggle-screen", Boolean(call.screenStream));
    press("toggle-audio-only", call.audioOnly);
    this.root.classList.toggle("audio-only", call.audioOnly);
    // A new camera track in the same stream: assign again, so that every browser shows it.
    const self = $("self-video");
    if (self.dataset.track !== (call.videoTrack?.id || "")) {
      self.dataset.track = call.videoTrack?.id || "";
      self.srcObject = null;
      self.srcObject = call.videoTrack ? call.local : null;
      if (self.srcObject) self.play().catch(() => {});
    }
  }

  // The people listening silently to the call (coaching), in the banner everyone sees; a
  // status region, so that screen readers say it when it changes.
  listeners(names) {
    const banner = $("listeners");
    if (!banner) return;
    const text = !names.length
      ? ""
      : this.texts.get(names.length === 1 ? "listener-one" : "listener-many", {
          name: names.join(", "),
        });
    if (banner.textContent !== text) banner.textContent = text;
  }

  // Whether the call is recorded (the `recording` message), in the banner everyone sees; a
  // status region, so that screen readers say it when it changes.
  recording(message) {
    const banner = $("recording-banner");
    if (!banner) return;
    const on = Boolean(message && message.on);
    const text = on
      ? message.legal_basis
        ? this.texts.get("recording-on-legal", { basis: message.legal_basis })
        : this.texts.get("recording-on")
      : this.root.dataset.recording === "1"
        ? this.texts.get("recording-off")
        : "";
    this.root.dataset.recording = on ? "1" : "0";
    if (banner.textContent !== text) banner.textContent = text;
  }

  problem(key) {
    const box = $("media-problem");
    box.textContent = key ? this.texts.get(key) : "";
    box.hidden = !key;
  }

  show(state) {
    const ended = ["ended", "left", "late", "refused", "replaced", "full"].includes(state);
    const waiting = $("waiting-room");
    if (waiting) waiting.hidden = state !== "waiting";
    $("chat").hidden = state !== "admitted";
    const files = $("files");
    if (files) files.hidden = state !== "admitted";
    const invite = $("invite-panel");
    if (invite) invite.hidden = ended;
    $("call-layout").hidden = ended;
    const panel = state === "ended" ? $("ended-panel") : state === "left" ? $("left-panel") : null;
    if (panel) {
      panel.hidden = false;
      panel.querySelector("h2").focus();
    }
  }
}
