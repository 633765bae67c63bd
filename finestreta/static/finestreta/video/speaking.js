// Who is speaking: a Web Audio analyser on each remote participant's audio. The tile shows it
// (a highlighted border and the word "Speaking"); screen readers hear "<name> is speaking"
// through a polite live region, at most every 5 seconds and not again for the same person
// within 30 seconds, so that it does not drown the conversation.

const EVERY = 150; // ms between measurements
const THRESHOLD = 0.03; // RMS of the signal, 0–1
const START = 2; // loud measurements in a row before "speaking"
const STOP = 6; // quiet measurements in a row before "not speaking"

export class SpeakingWatch {
  constructor(texts) {
    this.texts = texts;
    this.context = null;
    this.watched = new Map();
    this.timer = null;
    this.announcer = document.getElementById("speaking-announcer");
    this.lastAnnounced = { id: null, at: 0 };
    // Browsers start audio contexts suspended until the person interacts with the page.
    const wake = () => this.resume();
    document.addEventListener("pointerdown", wake);
    document.addEventListener("keydown", wake);
  }

  resume() {
    if (this.context && this.context.state === "suspended") this.context.resume().catch(() => {});
  }

  ensureContext() {
    if (!this.context) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      this.context = new Context();
    }
    this.resume();
    return this.context;
  }

  watch(peer, track) {
    const context = this.ensureContext();
    if (!context) return;
    this.unwatch(peer.id);
    const source = context.createMediaStreamSource(new MediaStream([track]));
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    this.watched.set(peer.id, {
      peer,
      source,
      analyser,
      data: new Uint8Array(analyser.fftSize),
      loud: 0,
      quiet: 0,
      speaking: false,
    });
    if (!this.timer) this.timer = setInterval(() => this.tick(), EVERY);
  }

  unwatch(id) {
    const watched = this.watched.get(id);
    if (!watched) return;
    watched.source.disconnect();
    watched.peer.tile.speaking(false);
    this.watched.delete(id);
    if (!this.watched.size) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  tick() {
    for (const watched of this.watched.values()) {
      watched.analyser.getByteTimeDomainData(watched.data);
      let sum = 0;
      for (const sample of watched.data) sum += ((sample - 128) / 128) ** 2;
      const level = Math.sqrt(sum / watched.data.length);
      if (level > THRESHOLD) {
        watched.loud += 1;
        watched.quiet = 0;
      } else {
        watched.quiet += 1;
        watched.loud = 0;
      }
      if (!watched.speaking && watched.loud >= START) {
        watched.speaking = true;
        watched.peer.tile.speaking(true);
        this.announce(watched.peer);
      } else if (watched.speaking && watched.quiet >= STOP) {
        watched.speaking = false;
        watched.peer.tile.speaking(false);
      }
    }
  }

  announce(peer) {
    if (!this.announcer) return;
    const now = Date.now();
    const last = this.lastAnnounced;
    if (now - last.at < 5000) return;
    if (last.id === peer.id && now - last.at < 30000) return;
    this.lastAnnounced = { id: peer.id, at: now };
    this.announcer.textContent = this.texts.get("speaking", { name: peer.name });
  }

  stop() {
    for (const id of [...this.watched.keys()]) this.unwatch(id);
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }
}
