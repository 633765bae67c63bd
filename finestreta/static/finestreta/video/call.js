// The call page, for the citizen (waiting room first), for staff (admitting, messages to the
// waiting person, call-back requests, inviting someone, ending the call) and for a guest staff
// invited (in at once; no files): signaling over the room's
// WebSocket, a peer connection to each other participant, the chat, the files shared, and the
// controls.
// Protocol: docs/signaling.md. Page data comes from data attributes on #call, texts from
// #video-texts (translated on the server).
//
// For tests and for styling, #call carries data-state (connecting, waiting, admitted, early,
// late, ended, left, refused, replaced, full) and data-connection (the best state of the peer
// connections: none, new, connecting, connected, disconnected, failed, closed).

import { Chat } from "./chat.js";
import { FileShare } from "./files.js";
import { evidencePanel, signaturePanel } from "./evidence.js";
import { InvitePanel } from "./invite.js";
import { Page } from "./page.js";
import { Peer } from "./peer.js";
import { Signaling } from "./signaling.js";
import { SpeakingWatch } from "./speaking.js";
import { StaffPanel } from "./staff.js";
import { Texts, canCall } from "./texts.js";
import { WaitingRoom } from "./waiting.js";

const STORE = "finestreta.video.";
const $ = (id) => document.getElementById(id);

// --- The call -----------------------------------------------------------------------------

class Call {
  constructor(root) {
    this.root = root;
    this.role = root.dataset.role;
    // A supervisor listening silently for coaching: no microphone, no camera, no part.
    this.silent = root.dataset.silent === "1";
    this.listeners = new Map(); // peer id → name of those listening silently (coaching)
    this.timeZone = root.dataset.timeZone;
    this.texts = new Texts(document);
    this.peerId = null;
    this.peers = new Map(); // peer id → Peer
    this.known = new Map(); // peer id → what the server said of them (name, role, number)
    this.iceServers = [];
    this.state = root.dataset.state;
    this.local = new MediaStream();
    this.audioTrack = null;
    this.videoTrack = null;
    this.hasCamera = false;
    this.screenStream = null;
    this.muted = false;
    this.cameraOff = false;
    this.audioOnly = false;
    this.resumeKey = `${STORE}peer.${root.dataset.room}`;
    this.ui = new Page(this, this.texts);
    this.chat = new Chat(this, this.texts);
    this.files = new FileShare(this, this.texts);
    this.speaking = new SpeakingWatch(this.texts);
    this.staff = this.role === "staff" ? new StaffPanel(this, this.texts) : null;
    this.invite = this.role === "staff" ? new InvitePanel(this.texts) : null;
    this.evidence = this.role === "staff" ? evidencePanel(this.texts) : null;
    this.signature = this.role === "citizen" ? signaturePanel(this.texts) : null;
    this.waiting = new WaitingRoom(this, this.texts);
    this.signaling = new Signaling({
      path: root.dataset.socket,
      hello: () => this.hello(),
      onMessage: (message) => this.onMessage(message),
      onDown: () => this.onDown(),
      onRefused: (code, error) => this.onRefused(code, error),
    });
    this.mediaReady = Promise.resolve();
  }

  start() {
    if (this.state === "ended") return;
    if (this.root.dataset.window === "late") {
      this.setState("late");
      return;
    }
    this.bindControls();
    const opensAt = Date.parse(this.root.dataset.opensAt || "");
    if (this.root.dataset.window === "early" && opensAt > Date.now()) {
      // The camera stays off until the waiting room opens (it may be hours).
      this.setState("early");
      this.waitUntil(opensAt);
      return;
    }
    this.begin();
  }

  // Timers cannot wait more than 24.8 days, and sleep with the computer: check every 6 hours.
  waitUntil(opensAt) {
    const left = opensAt - Date.now();
    if (left <= 0) return this.begin();
    setTimeout(() => this.waitUntil(opensAt), Math.min(left + 1000, 6 * 3600 * 1000));
    return undefined;
  }

  begin() {
    if (this.silent) {
      this.ui.buttons(); // nothing to turn on or off
    } else {
      this.mediaReady = this.startMedia();
    }
    this.connect();
  }

  // Who listens silently (coaching): said on every participant's page, in words.
  noteListener(info, present) {
    if (!info || !info.silent) return;
    if (present) this.listeners.set(info.peer, info.name || "");
    else this.listeners.delete(info.peer);
    this.ui.listeners([...this.listeners.values()]);
  }

  connect() {
    this.setState(this.peerId ? this.state : "connecting");
    this.signaling.start();
  }

  send(message) {
    return this.signaling.send(message);
  }

  hello() {
    const hello = { type: "hello", v: 1 };
    const { token, guest } = this.root.dataset;
    if (token) hello.token = token;
    if (guest) hello.guest = guest;
    const resume = this.peerId || sessionStorage.getItem(this.resumeKey);
    if (resume) hello.resume = resume;
    return hello;
  }

  // The people in the call with this page (the recorder is not one).
  others() {
    return [...this.peers.values()].filter((peer) => peer.info.role !== "recorder").length;
  }

  setState(state) {
    this.state = state;
    this.root.dataset.state = state;
    const status = {
      connecting: "status-connecting",
      waiting: "status-waiting",
      admitted: this.others() ? "status-in-call" : "status-alone",
      early: "status-early",
      late: "status-late",
      ended: "status-ended",
      left: "status-left",
      refused: this.role === "staff" ? "status-no-session" : "status-refused",
      replaced: "status-replaced",
      full: "status-full",
    }[state];
    if (status) this.ui.status(status);
    this.ui.show(state);
  }

  // --- Messages from the server ----------------------------------------------------------

  onMessage(message) {
    switch (message.type) {
      case "welcome":
        return this.onWelcome(message);
      case "admitted":
        if (Array.isArray(message.peers)) return this.onAdmitted(message.peers);
        return this.staff?.admitted(message);
      case "peer-joined":
        return this.onPeerJoined(message);
      case "peer-left":
        return this.onPeerLeft(message);
      case "signal":
        return this.onSignal(message);
      case "chat":
        return this.chat.receive(message);
      case "file":
        return this.files.receive(message);
      case "media":
        return this.peers.get(message.peer)?.tile.media(message);
      case "notice":
        return this.waiting.addNotice(message);
      case "callback-noted":
        return this.waiting.callbackNoted(message);
      case "evidence":
        return this.evidence?.reload();
      case "signature":
        return this.signature?.reload();
      case "recording":
        this.ui.recording(message);
        return this.staff?.recording(message);
      case "ended":
        return this.end();
      case "error":
        return this.onError(message);
      default:
        return this.staff?.onMessage(message);
    }
  }

  onWelcome(message) {
    this.peerId = message.peer;
    sessionStorage.setItem(this.resumeKey, message.peer);
    this.iceServers = message.ice_servers || [];
    for (const peer of this.peers.values()) peer.setIceServers(this.iceServers);
    for (const info of message.peers || []) this.known.set(info.peer, info);
    this.listeners.clear();
    for (const info of message.peers || []) this.noteListener(info, true);
    this.ui.listeners([...this.listeners.values()]);
    this.waiting.showNotices(message.notices || []);
    this.ui.recording(message.recording);
    this.staff?.welcome(message);
    this.staff?.recording(message.recording);
    if (message.state === "waiting") {
      this.setState("waiting");
      return;
    }
    this.enter(message.peers || []);
    this.chat.welcome(message.chat || []);
    this.files.welcome(message.files || []);
  }

  onAdmitted(peers) {
    for (const info of peers) this.known.set(info.peer, info);
    this.enter(peers);
  }

  // In the call: offer to each participant already there (the newcomer offers); after a
  // reconnection, mend what the drop may have broken.
  enter(list) {
    this.setState("admitted");
    const present = new Set(list.map((info) => info.peer));
    for (const info of list) {
      const peer = this.peers.get(info.peer);
      if (!peer) {
        this.addPeer(info, true);
      } else {
        peer.back(info);
        peer.afterReconnect();
      }
    }
    for (const [id, peer] of this.peers) {
      if (present.has(id)) continue;
      if (peer.connected) peer.away();
      else this.removePeer(id);
    }
    this.sendMedia();
    this.ui.connectionChanged();
  }

  addPeer(info, offerer) {
    const peer = new Peer(this, info, offerer);
    this.peers.set(info.peer, peer);
    this.ui.connectionChanged();
    return peer;
  }

  removePeer(id) {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    this.speaking.unwatch(id);
    peer.close();
    this.ui.connectionChanged();
  }

  onPeerJoined(message) {
    this.known.set(message.peer, message);
    this.noteListener(message, true);
    const peer = this.peers.get(message.peer);
    if (peer) {
      // The same participant, back after a dropped connection.
      peer.back(message);
      if (peer.offerer && !peer.connected) peer.restart();
    }
    // Otherwise the newcomer offers: wait for it.
    this.sendMedia();
  }

  onPeerLeft(message) {
    this.noteListener(this.known.get(message.peer), false);
    const peer = this.peers.get(message.peer);
    if (!peer) return;
    if (peer.connected) peer.away();
    else this.removePeer(message.peer);
  }

  onSignal(message) {
    let peer = this.peers.get(message.from);
    if (!peer) {
      if (!message.description || message.description.type !== "offer") return;
      peer = this.addPeer(this.known.get(message.from) || { peer: message.from }, false);
    }
    peer.onSignal(message);
  }

  onError(message) {
    if (this.staff?.onError(message)) return;
    this.waiting.onError(message);
  }

  onDown() {
    if (["waiting", "admitted", "connecting"].includes(this.state)) {
      this.ui.status("status-reconnecting");
    }
  }

  onRefused(code, error) {
    if (code === 4410) return this.end();
    if (code === 4409) return this.stopEverything("replaced");
    if (error === "too_early") {
      this.setState("early");
      setTimeout(() => this.signaling.start(), 30000);
      return;
    }
    if (error === "too_late") return this.stopEverything("late");
    if (error === "room_full") return this.stopEverything("full");
    return this.stopEverything("refused");
  }

  end() {
    sessionStorage.removeItem(this.resumeKey);
    this.stopEverything("ended");
  }

  leave() {
    this.send({ type: "leave" });
    sessionStorage.removeItem(this.resumeKey);
    this.stopEverything("left");
  }

  stopEverything(state) {
    this.signaling.stop();
    for (const id of [...this.peers.keys()]) this.removePeer(id);
    this.speaking.stop();
    for (const track of this.local.getTracks()) track.stop();
    this.stopScreen();
    this.root.dataset.connection = "none";
    this.setState(state);
  }

  // --- Local media -------------------------------------------------------------------------

  async startMedia() {
    if (!canCall()) {
      this.ui.problem("media-none");
      this.ui.buttons();
      return;
    }
    const stored = (kind) => sessionStorage.getItem(STORE + kind);
    const audio = stored("microphone") ? { deviceId: { ideal: stored("microphone") } } : true;
    const video = {
      width: { ideal: 640 },
      height: { ideal: 480 },
      ...(stored("camera") ? { deviceId: { ideal: stored("camera") } } : {}),
    };
    const attempt = async (constraints) => {
      try {
        return { stream: await navigator.mediaDevices.getUserMedia(constraints) };
      } catch (error) {
        return { error };
      }
    };
    let { stream, error } = await attempt({ audio, video });
    if (!stream && ["NotFoundError", "OverconstrainedError"].includes(error?.name)) {
      stream = (await attempt({ audio })).stream || (await attempt({ video })).stream;
    }
    if (stream) {
      for (const track of stream.getTracks()) this.local.addTrack(track);
      this.audioTrack = stream.getAudioTracks()[0] || null;
      this.videoTrack = stream.getVideoTracks()[0] || null;
      this.hasCamera = Boolean(this.videoTrack);
      this.ui.problem(
        this.audioTrack && this.videoTrack
          ? ""
          : this.audioTrack
            ? "media-no-camera"
            : "media-no-microphone",
      );
      const speaker = stored("speaker");
      if (speaker) this.useSpeaker(speaker);
    } else if (["NotAllowedError", "SecurityError"].includes(error?.name)) {
      this.ui.problem("media-denied");
    } else if (["NotReadableError", "AbortError"].includes(error?.name)) {
      this.ui.problem("media-busy");
    } else {
      this.ui.problem("media-none");
    }
    this.ui.buttons();
  }

  useSpeaker(deviceId) {
    const apply = (element) => element.setSinkId?.(deviceId).catch(() => {});
    for (const element of document.querySelectorAll(".tile-video")) apply(element);
    new MutationObserver(() => {
      for (const element of document.querySelectorAll(".tile-video:not([data-sink])")) {
        element.dataset.sink = "1";
        apply(element);
      }
    }).observe($("tiles"), { childList: true });
  }

  sendMedia() {
    if (this.state !== "admitted" || this.silent) return;
    this.send({
      type: "media",
      audio: Boolean(this.audioTrack) && !this.muted,
      video: Boolean(this.videoTrack) && !this.cameraOff && !this.audioOnly,
      screen: Boolean(this.screenStream),
    });
  }

  setVideoTrack(track) {
    if (this.videoTrack) {
      this.local.removeTrack(this.videoTrack);
      this.videoTrack.stop();
    }
    this.videoTrack = track;
    if (track) this.local.addTrack(track);
    for (const peer of this.peers.values()) peer.setVideoTrack(track);
  }

  async cameraTrack() {
    const id = sessionStorage.getItem(`${STORE}camera`);
    const video = { width: { ideal: 640 }, height: { ideal: 480 } };
    if (id) video.deviceId = { ideal: id };
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video });
      return stream.getVideoTracks()[0] || null;
    } catch {
      return null;
    }
  }

  toggleMic() {
    if (!this.audioTrack) return;
    this.muted = !this.muted;
    this.audioTrack.enabled = !this.muted;
    this.ui.buttons();
    this.sendMedia();
  }

  async toggleCamera() {
    if (this.videoTrack && !this.audioOnly) {
      this.cameraOff = true;
      this.setVideoTrack(null); // the camera's light goes off too
    } else {
      this.cameraOff = false;
      if (this.audioOnly) await this.setAudioOnly(false);
      else this.setVideoTrack(await this.cameraTrack());
    }
    this.ui.buttons();
    this.sendMedia();
  }

  // Sound only (a weak connection): no video sent or received; back: as before.
  async setAudioOnly(on) {
    this.audioOnly = on;
    if (on) {
      this.stopScreen();
      this.setVideoTrack(null);
    }
    for (const peer of this.peers.values()) peer.setVideoReceiving(!on);
    if (!on && !this.cameraOff && this.hasCamera) this.setVideoTrack(await this.cameraTrack());
    this.ui.buttons();
    this.sendMedia();
  }

  async toggleScreen() {
    if (this.screenStream) {
      this.stopScreen();
      this.ui.buttons();
      this.sendMedia();
      return;
    }
    try {
      this.screenStream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (error) {
      if (error?.name !== "NotAllowedError") this.ui.problem("screen-failed");
      return;
    }
    const track = this.screenStream.getVideoTracks()[0];
    track.addEventListener("ended", () => {
      this.stopScreen();
      this.ui.buttons();
      this.sendMedia();
    });
    for (const peer of this.peers.values()) peer.addScreen();
    this.ui.buttons();
    this.sendMedia();
  }

  stopScreen() {
    if (!this.screenStream) return;
    for (const peer of this.peers.values()) peer.removeScreen();
    for (const track of this.screenStream.getTracks()) track.stop();
    this.screenStream = null;
  }

  bindControls() {
    $("toggle-mic").addEventListener("click", () => this.toggleMic());
    $("toggle-camera").addEventListener("click", () => this.toggleCamera());
    $("toggle-audio-only").addEventListener("click", () => this.setAudioOnly(!this.audioOnly));
    $("leave").addEventListener("click", () => this.leave());
    const screen = $("toggle-screen");
    if (!this.silent && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia) {
      screen.hidden = false;
      screen.addEventListener("click", () => this.toggleScreen());
    }
  }
}

const root = $("call");
if (root) {
  const call = new Call(root);
  window.finestretaCall = call; // for the browser tests and for debugging
  call.start();
}
