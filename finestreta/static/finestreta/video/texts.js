// The page's translated texts: server-rendered spans with a data-key in #video-texts, so that
// every word the scripts show is translated with the rest of the page. Placeholders are
// written {name} in the rendered text and filled in here.

export class Texts {
  constructor(root = document) {
    this.map = new Map();
    const box = root.querySelector("#video-texts");
    if (box) {
      for (const span of box.querySelectorAll("[data-key]")) {
        this.map.set(span.dataset.key, span.textContent.trim());
      }
    }
  }

  get(key, values = {}) {
    let text = this.map.get(key) ?? "";
    for (const [name, value] of Object.entries(values)) {
      text = text.split(`{${name}}`).join(String(value));
    }
    return text;
  }
}

// "10:42" in the organisation's time zone (the browser's if the zone is unknown to it).
export function clock(iso, timeZone) {
  const when = iso ? new Date(iso) : new Date();
  if (Number.isNaN(when.getTime())) return "";
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  const language = document.documentElement.lang || undefined;
  for (const attempt of [
    [language, { ...options, timeZone }],
    [undefined, { ...options, timeZone }],
    [undefined, options],
  ]) {
    try {
      return new Intl.DateTimeFormat(...attempt).format(when);
    } catch {
      // An unknown language ("oc" in some browsers) or time zone: try the next.
    }
  }
  return "";
}

// Whether the media APIs a call needs exist here (they need a secure context: https or
// localhost).
export function canCall() {
  return Boolean(
    window.RTCPeerConnection &&
      navigator.mediaDevices &&
      navigator.mediaDevices.getUserMedia &&
      window.WebSocket,
  );
}

export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}
