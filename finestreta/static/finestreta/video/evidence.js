// Panels of a call page whose forms are sent with fetch, the server answering with the panel
// again, which takes the place of the old one, so the call goes on: the agent's panel of
// identity, consent and signature (identity/_panel.html), reloaded by an `evidence` message
// (the citizen answered, a colleague checked a document); and the citizen's signature panel
// (identity/_citizen_signature.html), reloaded by a `signature` message (the agent asked for a
// signature, or withdrew the request). Each result line is a status region: screen readers
// hear the outcome.

export class FragmentPanel {
  constructor(texts, { panel, result }) {
    this.texts = texts;
    this.busy = false;
    this.panelId = panel;
    this.resultId = result;
    const found = document.getElementById(panel);
    if (!found) return;
    this.url = found.dataset.url;
    // One listener on the page: the panel's forms are replaced, the listener stays.
    document.addEventListener("submit", (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.closest(`#${panel}`)) return;
      event.preventDefault();
      this.send(form);
    });
  }

  async send(form) {
    if (this.busy) return;
    this.busy = true;
    const focused = document.activeElement?.id || "";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form), // the CSRF token goes as a form field
        headers: { "X-CSRFToken": form.querySelector("input[name=csrfmiddlewaretoken]")?.value || "" },
        credentials: "same-origin",
      });
      this.replace(await response.text(), response.ok ? "result" : focused);
    } catch {
      this.say(this.texts.get("evidence-failed"));
    } finally {
      this.busy = false;
    }
  }

  async reload() {
    if (!this.url || this.busy) return;
    const focused = document.activeElement?.closest(`#${this.panelId}`)
      ? document.activeElement.id
      : "";
    try {
      const response = await fetch(this.url, { credentials: "same-origin" });
      if (response.ok) this.replace(await response.text(), focused, { keepResult: true });
    } catch {
      // The next change or action brings it up to date.
    }
  }

  replace(html, focusId, { keepResult = false } = {}) {
    const old = document.getElementById(this.panelId);
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const fresh = template.content.getElementById(this.panelId);
    if (!old || !fresh) return;
    const result = old.querySelector(`#${this.resultId}`)?.textContent || "";
    const appeared = old.hidden && !fresh.hidden;
    old.replaceWith(fresh);
    if (appeared) {
      // A request to sign came: like a dialog opening, it takes the focus (and the heading
      // is read out).
      fresh.querySelector("h2")?.focus();
      return;
    }
    const line = document.getElementById(this.resultId);
    if (keepResult && line && !line.textContent) line.textContent = result;
    // After a form: focus goes to the first field in error, else the result line.
    const invalid = fresh.querySelector("[aria-invalid=true]");
    const target = invalid || (focusId === "result" ? line : document.getElementById(focusId));
    target?.focus?.();
  }

  say(text) {
    const line = document.getElementById(this.resultId);
    if (line) line.textContent = text;
  }
}

export const evidencePanel = (texts) =>
  new FragmentPanel(texts, { panel: "identity-panel", result: "identity-result" });

export const signaturePanel = (texts) =>
  new FragmentPanel(texts, { panel: "signature-panel", result: "signature-result" });
