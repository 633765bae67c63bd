// The files shared in the call (docs/signaling.md, "file"): the person's file goes up over HTTP
// (multipart, with the page's CSRF token), the server tells everyone in the call with a `file`
// message, and `welcome` lists the call's files so far. Downloads come from the upload address
// plus the file's id. Pages without the panel (an invited guest's) ignore all of it.

import { clock } from "./texts.js";

const $ = (id) => document.getElementById(id);

// Where the server's message is English (not for people), the page says it in their language.
const OWN_TEXTS = { rate_limited: "files-rate-limited", no_file: "files-choose" };

export class FileShare {
  constructor(call, texts) {
    this.call = call;
    this.texts = texts;
    this.section = $("files");
    this.known = new Set(); // file ids listed
    this.busy = false;
    if (!this.section) return;
    this.url = this.section.dataset.filesUrl;
    this.form = $("files-form");
    this.input = $("files-input");
    this.button = $("files-share");
    this.list = $("files-list");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.share();
    });
  }

  welcome(files) {
    for (const file of files || []) this.add(file);
  }

  receive(message) {
    this.add(message);
  }

  add(file) {
    if (!this.section || typeof file.id !== "number" || this.known.has(file.id)) return;
    this.known.add(file.id);
    const item = document.createElement("li");
    item.className = "file-entry";
    item.dataset.file = String(file.id);
    const link = document.createElement("a");
    link.className = "file-link";
    link.href = `${this.url}${file.id}/`;
    link.textContent = file.name;
    const meta = document.createElement("span");
    meta.className = "small file-meta";
    const by = this.texts.get("file-shared-by", {
      name: file.sender || "",
      time: clock(file.at, this.call.timeZone),
    });
    meta.textContent = ` ${this.size(file.size)} · ${by}`;
    item.append(link, meta);
    // In the order they were shared (ids grow), whatever order the messages came in.
    const later = [...this.list.children].find((child) => Number(child.dataset.file) > file.id);
    this.list.insertBefore(item, later || null);
    $("no-files").hidden = true;
  }

  size(bytes) {
    const language = document.documentElement.lang || undefined;
    const format = (value) => {
      try {
        return new Intl.NumberFormat(language, { maximumFractionDigits: 1 }).format(value);
      } catch {
        return new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }).format(value);
      }
    };
    const size = Number(bytes) || 0;
    if (size < 1024 * 1024) {
      return this.texts.get("file-size-kb", { size: format(Math.max(1, Math.round(size / 1024))) });
    }
    return this.texts.get("file-size-mb", { size: format(size / (1024 * 1024)) });
  }

  status(text, problem = false) {
    const box = $("files-status");
    box.textContent = text;
    box.classList.toggle("files-problem", problem);
  }

  async share() {
    if (this.busy) return;
    const file = this.input.files && this.input.files[0];
    if (!file) {
      this.status(this.texts.get("files-choose"), true);
      this.input.focus();
      return;
    }
    // The button keeps its focus while busy (a disabled button would drop it).
    this.busy = true;
    this.button.setAttribute("aria-disabled", "true");
    this.status(this.texts.get("files-uploading", { name: file.name }));
    const token = this.form.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
    let response = null;
    let body = null;
    try {
      response = await fetch(this.url, {
        method: "POST",
        body: new FormData(this.form), // the file, and the CSRF token as a form field
        headers: { "X-CSRFToken": token, Accept: "application/json" },
        credentials: "same-origin",
      });
      body = await response.json().catch(() => null);
    } catch {
      response = null; // the network: said below
    }
    this.busy = false;
    this.button.removeAttribute("aria-disabled");
    if (response && response.ok && body && body.file) {
      this.add(body.file);
      this.form.reset();
      this.status(this.texts.get("files-shared", { name: body.file.name }));
      return;
    }
    const error = body && body.error;
    const own = error && OWN_TEXTS[error.code];
    const text = own
      ? this.texts.get(own)
      : (error && typeof error.message === "string" && error.message) ||
        this.texts.get("files-failed");
    this.status(text, true);
  }
}
