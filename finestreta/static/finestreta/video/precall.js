// The check before a call: camera (a preview), microphone (a live level meter), speaker (a
// test sound, and the output device where the browser lets a page choose it), the signaling
// server (a round trip over the room's WebSocket, without joining the waiting room) and, when
// the platform has a TURN server, a relayed ICE candidate from it within 5 seconds.
// The devices chosen here are remembered for the call page (sessionStorage).

import { Texts, canCall, socketUrl } from "./texts.js";

const root = document.getElementById("precall");
const texts = new Texts(document);
const STORE = "finestreta.video.";
const results = {};
let stream = null;
let meter = null;

function $(id) {
  return document.getElementById(id);
}

function setCheck(name, state) {
  results[name] = state;
  const item = $(`check-${name}`);
  if (!item) return;
  item.dataset.state = state;
  item.querySelector(".check-status").textContent = texts.get(`state-${state}`);
  summarise();
}

function showHelp(id, shown = true) {
  const help = $(id);
  if (help) help.hidden = !shown;
}

function summarise() {
  const names = ["camera", "microphone", "signaling"];
  if ($("check-relay")) names.push("relay");
  const states = names.map((name) => results[name]);
  if (states.some((state) => !state || state === "checking")) return;
  $("check-summary").textContent = texts.get(
    states.every((state) => state === "ok") ? "summary-ok" : "summary-problems",
  );
}

// --- Camera and microphone ---------------------------------------------------------------

function constraint(kind) {
  const id = sessionStorage.getItem(STORE + kind);
  return id ? { deviceId: { ideal: id } } : true;
}

async function tryMedia(audio, video) {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia({ audio, video }) };
  } catch (error) {
    return { error };
  }
}

async function checkDevices() {
  for (const id of ["help-denied", "help-in-use", "help-no-camera", "help-no-microphone"]) {
    showHelp(id, false);
  }
  $("check-summary").textContent = "";
  setCheck("camera", "checking");
  setCheck("microphone", "checking");
  stopStream();
  let { stream: found, error } = await tryMedia(constraint("microphone"), constraint("camera"));
  if (!found && error && ["NotFoundError", "OverconstrainedError"].includes(error.name)) {
    // One of the two is missing: find out which, and keep the other.
    const audioOnly = await tryMedia(constraint("microphone"), false);
    const videoOnly = audioOnly.stream ? { error } : await tryMedia(false, constraint("camera"));
    found = audioOnly.stream || videoOnly.stream || null;
  }
  if (!found) {
    const denied = error && ["NotAllowedError", "SecurityError"].includes(error.name);
    const busy = error && ["NotReadableError", "AbortError"].includes(error.name);
    const state = denied ? "denied" : busy ? "failed" : "missing";
    setCheck("camera", state);
    setCheck("microphone", state);
    showHelp(denied ? "help-denied" : busy ? "help-in-use" : "help-no-microphone");
    if (!denied && !busy) showHelp("help-no-camera");
    return;
  }
  stream = found;
  const hasVideo = stream.getVideoTracks().length > 0;
  const hasAudio = stream.getAudioTracks().length > 0;
  setCheck("camera", hasVideo ? "ok" : "missing");
  setCheck("microphone", hasAudio ? "ok" : "missing");
  showHelp("help-no-camera", !hasVideo);
  showHelp("help-no-microphone", !hasAudio);
  const preview = $("preview");
  preview.srcObject = hasVideo ? stream : null;
  $("preview-note").hidden = hasVideo;
  if (hasAudio) startMeter(stream);
  await listDevices();
}

function stopStream() {
  if (meter) {
    clearInterval(meter.timer);
    meter.context.close().catch(() => {});
    meter = null;
  }
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
}

function startMeter(source) {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  const context = new Context();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(source).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  const bar = $("mic-level");
  const timer = setInterval(() => {
    analyser.getByteTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += ((sample - 128) / 128) ** 2;
    const level = Math.min(100, Math.round(Math.sqrt(sum / samples.length) * 300));
    bar.value = level;
    bar.textContent = String(level);
  }, 100);
  context.resume().catch(() => {});
  meter = { context, timer };
}

async function listDevices() {
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return;
  }
  const current = {
    camera: stream && stream.getVideoTracks()[0]?.getSettings().deviceId,
    microphone: stream && stream.getAudioTracks()[0]?.getSettings().deviceId,
  };
  fill("camera", devices.filter((d) => d.kind === "videoinput"), current.camera);
  fill("microphone", devices.filter((d) => d.kind === "audioinput"), current.microphone);
  const audio = $("test-sound-player");
  if (typeof audio.setSinkId === "function") {
    const outputs = devices.filter((d) => d.kind === "audiooutput" && d.deviceId);
    fill("speaker", outputs, sessionStorage.getItem(STORE + "speaker") || "default", true);
  }
}

function fill(kind, devices, selected, withDefault = false) {
  const box = $(`${kind}-choice`);
  const select = $(`${kind}-select`);
  if (!box || !select) return;
  select.replaceChildren();
  if (withDefault && !devices.some((d) => d.deviceId === "default")) {
    select.append(new Option(texts.get("default-device"), "default"));
  }
  devices.forEach((device, index) => {
    const label = device.label || texts.get("device", { number: index + 1 });
    select.append(new Option(label, device.deviceId, false, device.deviceId === selected));
  });
  box.hidden = select.options.length === 0 || (devices.length < 2 && !withDefault);
}

async function chooseDevice(kind) {
  const value = $(`${kind}-select`).value;
  sessionStorage.setItem(STORE + kind, value);
  if (kind === "speaker") {
    await $("test-sound-player").setSinkId(value).catch(() => {});
    return;
  }
  await checkDevices();
}

// --- Speaker -----------------------------------------------------------------------------

async function playSound() {
  const audio = $("test-sound-player");
  const note = $("sound-note");
  showHelp("help-sound", false);
  note.textContent = texts.get("sound-playing");
  try {
    audio.currentTime = 0;
    await audio.play();
  } catch {
    note.textContent = texts.get("sound-failed");
    showHelp("help-sound");
    return;
  }
  audio.addEventListener(
    "ended",
    () => {
      note.textContent = texts.get("sound-played");
      showHelp("help-sound");
    },
    { once: true },
  );
}

// --- The network -------------------------------------------------------------------------

// A round trip to the room's signaling server without joining the waiting room: a ping before
// hello is answered (with an error) and the socket closed by the server; any answer will do.
function checkSignaling() {
  setCheck("signaling", "checking");
  return new Promise((resolve) => {
    let done = false;
    let socket;
    const finish = (state) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      setCheck("signaling", state);
      if (state !== "ok") showHelp("help-network");
      try {
        socket.close(1000);
      } catch {
        // already closed
      }
      resolve(state);
    };
    const timer = setTimeout(() => finish("failed"), 8000);
    try {
      socket = new WebSocket(socketUrl(root.dataset.socket));
    } catch {
      finish("failed");
      return;
    }
    socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "ping" })));
    socket.addEventListener("message", () => finish("ok"));
    socket.addEventListener("error", () => finish("failed"));
    socket.addEventListener("close", () => finish("failed"));
  });
}

// A relayed candidate from the TURN server, with only that server, within 5 seconds.
async function checkRelay() {
  let servers = [];
  try {
    servers = JSON.parse(root.dataset.turnServers || "[]");
  } catch {
    servers = [];
  }
  if (!servers.length || !$("check-relay")) return;
  setCheck("relay", "checking");
  const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: "relay" });
  const found = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    pc.addEventListener("icecandidate", (event) => {
      const candidate = event.candidate;
      if (candidate && (candidate.type === "relay" || / typ relay /.test(candidate.candidate))) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    pc.createDataChannel("check");
    pc.createOffer()
      .then((offer) => pc.setLocalDescription(offer))
      .catch(() => {
        clearTimeout(timer);
        resolve(false);
      });
  });
  pc.close();
  setCheck("relay", found ? "ok" : "failed");
  if (!found) showHelp("help-network");
}

// --- Start -------------------------------------------------------------------------------

function start() {
  if (!root || !$("check-devices")) return;
  const audio = document.createElement("audio");
  audio.id = "test-sound-player";
  audio.preload = "auto";
  audio.src = root.dataset.sound;
  root.append(audio);
  const speaker = sessionStorage.getItem(STORE + "speaker");
  if (speaker && typeof audio.setSinkId === "function") audio.setSinkId(speaker).catch(() => {});

  $("play-sound").addEventListener("click", playSound);
  for (const kind of ["camera", "microphone", "speaker"]) {
    $(`${kind}-select`).addEventListener("change", () => chooseDevice(kind));
  }
  if (!canCall()) {
    showHelp("help-unsupported");
    $("check-devices").disabled = true;
    setCheck("camera", "failed");
    setCheck("microphone", "failed");
  } else {
    $("check-devices").addEventListener("click", checkDevices);
  }
  window.addEventListener("pagehide", stopStream);
  if (window.WebSocket) {
    checkSignaling().then(() => (window.RTCPeerConnection ? checkRelay() : null));
  } else {
    setCheck("signaling", "failed");
  }
}

start();
