// The agent's panel of identity and consent (identity/_panel.html): its forms are sent with
// fetch and the server answers with the panel again, which takes the place of the old one, so
// the call goes on. An `evidence` message (the citizen answered, a colleague checked a
// document) reloads it. The result line is a status region: screen readers hear the outcome.

const PANEL = "identity-panel";

export class EvidencePanel {
  constructor(texts) {
    this.texts = texts;
    this.busy = false;
    const panel = document.getElementById(PANEL);
    if (!panel) return;
    this.url = panel.dataset.url;
    // One listener on the page: the panel's forms are replaced, the listener stays.
    document.addEventListener("submit", (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.closest(`#${PANEL}`)) return;
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
    const focused = document.activeElement?.closest(`#${PANEL}`) ? document.activeElement.id : "";
    try {
      const response = await fetch(this.url, { credentials: "same-origin" });
      if (response.ok) this.replace(await response.text(), focused, { keepResult: true });
    } catch {
      // The next change or action brings it up to date.
    }
  }

  replace(html, focusId, { keepResult = false } = {}) {
    const old = document.getElementById(PANEL);
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const fresh = template.content.getElementById(PANEL);
    if (!old || !fresh) return;
    const result = old.querySelector("#identity-result")?.textContent || "";
    old.replaceWith(fresh);
    const line = document.getElementById("identity-result");
    if (keepResult && line && !line.textContent) line.textContent = result;
    // After a form: focus goes to the first field in error, else the result line.
    const invalid = fresh.querySelector("[aria-invalid=true]");
    const target = invalid || (focusId === "result" ? line : document.getElementById(focusId));
    target?.focus?.();
  }

  say(text) {
    const line = document.getElementById("identity-result");
    if (line) line.textContent = text;
  }
}
