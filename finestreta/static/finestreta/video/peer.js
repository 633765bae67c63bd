// One remote participant: its RTCPeerConnection, negotiated with the W3C "perfect negotiation"
// pattern (docs/signaling.md: on glare, the participant whose peer id sorts first ignores the
// incoming offer; the other rolls back and answers), trickle ICE out, trickle or complete SDP
// in (aiortc gathers first), ICE restarts by the original offerer, and its tile on the page.
//
// Transceivers, in order: audio (microphone), video (camera), then any further video (a shared
// screen). Turning the camera off or on replaces the track without renegotiating; sharing the
// screen adds a track and renegotiates.

const RESUME_GRACE = 60000; // the server forgets a participant 60 s after its socket closed
const RESTART_AFTER = 5000; // "disconnected" this long: the original offerer restarts ICE

// The session id of an SDP's o= line: the same for every offer of one RTCPeerConnection, new
// when the other side starts afresh (a reloaded page).
function sessionOf(sdp) {
  const found = /^o=\S+ (\S+) /m.exec(sdp || "");
  return found ? found[1] : null;
}

export class Peer {
  // offerer: this side makes the first offer (it arrived after the other).
  constructor(call, info, offerer) {
    this.call = call;
    this.id = info.peer;
    this.info = info;
    this.offerer = offerer;
    this.queue = Promise.resolve();
    this.awayTimer = null;
    this.restartTimer = null;
    this.tile = call.ui.addTile(this);
    this.createConnection();
    if (offerer) this.enqueue(() => this.addTransceivers());
  }

  get polite() {
    return this.call.peerId > this.id;
  }

  get state() {
    const pc = this.pc;
    if (pc.connectionState) return pc.connectionState;
    const ice = pc.iceConnectionState; // browsers without connectionState
    return { checking: "connecting", completed: "connected" }[ice] || ice;
  }

  get connected() {
    return this.state === "connected";
  }

  get name() {
    return this.info.name || "";
  }

  createConnection() {
    const pc = new RTCPeerConnection({ iceServers: this.call.iceServers });
    this.pc = pc;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.candidates = [];
    this.remoteSession = null;
    this.audioTx = null;
    this.videoTx = null;
    this.screenSender = null;
    this.main = new MediaStream();
    this.screen = new MediaStream();
    pc.addEventListener("icecandidate", (event) => {
      if (pc !== this.pc) return;
      const candidate = event.candidate;
      if (candidate && !candidate.candidate) return; // an end of one generation; null follows
      this.call.send({ type: "signal", to: this.id, candidate: candidate ? candidate.toJSON() : null });
    });
    pc.addEventListener("negotiationneeded", () => {
      if (pc === this.pc) this.negotiate();
    });
    pc.addEventListener("track", (event) => {
      if (pc === this.pc) this.onTrack(event);
    });
    const changed = () => {
      if (pc === this.pc) this.onStateChange();
    };
    pc.addEventListener("connectionstatechange", changed);
    pc.addEventListener("iceconnectionstatechange", changed);
    this.tile.attach(this.main, this.screen);
  }

  // Fresh TURN credentials after a reconnection.
  setIceServers(servers) {
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: servers });
    } catch {
      // Some browsers refuse a change of configuration: the old credentials still work.
    }
  }

  enqueue(task) {
    this.queue = this.queue.then(task).catch((error) => console.warn("video:", error));
    return this.queue;
  }

  // --- Offering ----------------------------------------------------------------------------

  async addTransceivers() {
    await this.call.mediaReady;
    const { audioTrack, videoTrack, local } = this.call;
    this.audioTx = this.pc.addTransceiver(audioTrack || "audio", {
      direction: "sendrecv",
      streams: [local],
    });
    this.videoTx = this.pc.addTransceiver(videoTrack || "video", {
      direction: this.call.audioOnly ? "inactive" : "sendrecv",
      streams: [local],
    });
    this.addScreen();
  }

  async negotiate({ iceRestart = false } = {}) {
    const pc = this.pc;
    try {
      this.makingOffer = true;
      if (iceRestart) {
        await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      } else {
        await pc.setLocalDescription();
      }
      this.sendDescription();
    } catch (error) {
      console.warn("video: could not offer", error);
    } finally {
      this.makingOffer = false;
    }
  }

  sendDescription() {
    const description = this.pc.localDescription;
    if (!description) return;
    this.call.send({
      type: "signal",
      to: this.id,
      description: { type: description.type, sdp: description.sdp },
    });
  }

  restart() {
    clearTimeout(this.restartTimer);
    if (!this.call.signaling.open) return; // done after the next welcome
    if (typeof this.pc.restartIce === "function") {
      this.pc.restartIce(); // fires negotiationneeded with an ICE restart
    } else {
      this.negotiate({ iceRestart: true });
    }
  }

  // After the signaling socket came back (welcome): an offer that may have been lost is sent
  // again; the original offerer restarts ICE if the media are not flowing.
  afterReconnect() {
    if (this.pc.signalingState === "have-local-offer") {
      this.sendDescription();
    } else if (this.offerer && !this.connected) {
      this.restart();
    }
  }

  // --- Receiving signals -------------------------------------------------------------------

  onSignal(message) {
    if (message.description) {
      return this.enqueue(() => this.onDescription(message.description));
    }
    if ("candidate" in message) {
      return this.enqueue(() => this.onCandidate(message.candidate));
    }
    return this.queue;
  }

  async onDescription(description, rebuilt = false) {
    const session = sessionOf(description.sdp);
    if (
      description.type === "offer" &&
      this.remoteSession &&
      session &&
      session !== this.remoteSession
    ) {
      this.rebuild(); // the other side started afresh: so do we
    }
    const pc = this.pc;
    const collision =
      description.type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    try {
      if (collision && pc.signalingState === "have-local-offer") {
        await pc.setLocalDescription({ type: "rollback" });
      }
      await pc.setRemoteDescription(description);
    } catch (error) {
      if (description.type !== "offer" || rebuilt) throw error;
      this.rebuild();
      await this.onDescription(description, true);
      return;
    }
    this.remoteSession = session || this.remoteSession;
    for (const candidate of this.candidates.splice(0)) await this.addCandidate(candidate);
    if (description.type !== "offer") return;
    await this.call.mediaReady;
    this.attachLocal();
    await pc.setLocalDescription();
    this.sendDescription();
    this.addScreen();
  }

  async onCandidate(candidate) {
    if (!this.pc.remoteDescription) {
      this.candidates.push(candidate);
      return;
    }
    await this.addCandidate(candidate);
  }

  async addCandidate(candidate) {
    try {
      if (candidate) {
        await this.pc.addIceCandidate(candidate);
      } else {
        await this.pc.addIceCandidate();
      }
    } catch (error) {
      if (!this.ignoreOffer && candidate) console.warn("video: candidate refused", error);
    }
  }

  // Answering: our tracks go on the transceivers the offer made (the first audio and the first
  // video); what the offer lacked is added (and negotiated afterwards).
  attachLocal() {
    const { audioTrack, videoTrack, local, audioOnly } = this.call;
    const transceivers = this.pc.getTransceivers();
    const first = (kind) =>
      transceivers.find((t) => !t.stopped && t.receiver.track && t.receiver.track.kind === kind);
    if (!this.audioTx) this.audioTx = first("audio") || null;
    if (!this.videoTx) this.videoTx = first("video") || null;
    if (this.audioTx) {
      if (!this.audioTx.sender.track && audioTrack) this.audioTx.sender.replaceTrack(audioTrack);
      this.audioTx.direction = "sendrecv";
    } else {
      this.audioTx = this.pc.addTransceiver(audioTrack || "audio", {
        direction: "sendrecv",
        streams: [local],
      });
    }
    if (this.videoTx) {
      if (!this.videoTx.sender.track && videoTrack) this.videoTx.sender.replaceTrack(videoTrack);
      if (!audioOnly) this.videoTx.direction = "sendrecv";
    } else {
      this.videoTx = this.pc.addTransceiver(videoTrack || "video", {
        direction: audioOnly ? "inactive" : "sendrecv",
        streams: [local],
      });
    }
    if (audioOnly) this.setVideoReceiving(false);
  }

  // Start afresh (the other side reloaded its page): a new connection, answering.
  rebuild() {
    const old = this.pc;
    this.offerer = false;
    this.createConnection();
    old.close();
    this.call.speaking.unwatch(this.id);
    this.call.ui.connectionChanged();
  }

  // --- Media -------------------------------------------------------------------------------

  onTrack(event) {
    const track = event.track;
    // A supervisor listening for coaching sends nothing; should its page send anyway, nothing
    // of it is played.
    if (this.info.silent) return;
    if (track.kind === "audio") {
      for (const old of this.main.getAudioTracks()) this.main.removeTrack(old);
      this.main.addTrack(track);
      this.call.speaking.watch(this, track);
      this.tile.attach(this.main, this.screen);
      return;
    }
    const firstVideo = this.pc
      .getTransceivers()
      .find((t) => t.receiver.track && t.receiver.track.kind === "video");
    const target = event.transceiver === firstVideo ? this.main : this.screen;
    for (const old of target.getVideoTracks()) target.removeTrack(old);
    target.addTrack(track);
    if (target === this.screen) {
      const shown = () => this.tile.showScreen(!track.muted && track.readyState === "live");
      track.addEventListener("mute", shown);
      track.addEventListener("unmute", shown);
      track.addEventListener("ended", shown);
      shown();
    }
    this.tile.attach(this.main, this.screen);
  }

  setVideoTrack(track) {
    if (!this.videoTx) return;
    this.videoTx.sender.replaceTrack(track).catch(() => {});
    if (track && this.videoTx.direction !== "sendrecv") this.videoTx.direction = "sendrecv";
  }

  setAudioTrack(track) {
    if (this.audioTx) this.audioTx.sender.replaceTrack(track).catch(() => {});
  }

  // Sound only: no video either way (renegotiated); back: the camera sends and receives again.
  setVideoReceiving(receiving) {
    for (const transceiver of this.pc.getTransceivers()) {
      if (transceiver.stopped || !transceiver.receiver.track) continue;
      if (transceiver.receiver.track.kind !== "video") continue;
      if (!receiving) {
        transceiver.direction = "inactive";
      } else if (transceiver === this.videoTx || transceiver.sender.track) {
        transceiver.direction = "sendrecv";
      } else {
        transceiver.direction = "recvonly";
      }
    }
  }

  addScreen() {
    const stream = this.call.screenStream;
    if (!stream || this.screenSender) return;
    const track = stream.getVideoTracks()[0];
    if (track) this.screenSender = this.pc.addTrack(track, stream);
  }

  removeScreen() {
    if (!this.screenSender) return;
    try {
      this.pc.removeTrack(this.screenSender);
    } catch {
      // the connection is closed
    }
    this.screenSender = null;
  }

  // --- Connection state, leaving and coming back -------------------------------------------

  onStateChange() {
    const state = this.state;
    this.call.ui.connectionChanged();
    if (state === "connected") {
      clearTimeout(this.restartTimer);
      return;
    }
    if (this.awayTimer && ["disconnected", "failed", "closed"].includes(state)) {
      this.call.removePeer(this.id); // they left while their signaling was down: gone
      return;
    }
    // The media stopped: perhaps the network changed under both connections. Check the
    // signaling socket now, so that an ICE restart has a way to travel.
    if (state === "disconnected" || state === "failed") this.call.signaling.probe();
    if (state === "failed" && this.offerer) {
      this.restart();
    } else if (state === "disconnected" && this.offerer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = setTimeout(() => {
        if (!this.connected) this.restart();
      }, RESTART_AFTER);
    }
  }

  // Their signaling socket closed: the media may still flow (a dropped WebSocket, a server
  // restart), so keep the connection while it lasts, for as long as they may resume.
  away() {
    clearTimeout(this.awayTimer);
    this.awayTimer = setTimeout(() => this.call.removePeer(this.id), RESUME_GRACE);
  }

  back(info) {
    clearTimeout(this.awayTimer);
    this.awayTimer = null;
    this.info = { ...this.info, ...info };
    this.tile.label(this);
  }

  close() {
    clearTimeout(this.awayTimer);
    clearTimeout(this.restartTimer);
    this.pc.close();
    this.tile.remove();
  }
}
