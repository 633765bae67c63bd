// Inviting someone into the call (staff): the forms of #invite-panel are ordinary forms that
// post and come back to this page with a message. Leaving the page would drop the call for a
// moment, so the script posts them itself, takes the panel and the messages from the page the
// server answers with, and puts them in place. Anything unexpected: the page is loaded again,
// which shows the server's message the ordinary way.

const $ = (id) => document.getElementById(id);

export class InvitePanel {
  constructor(texts) {
    this.texts = texts;
    this.busy = false;
    // On the document: the panel is replaced after each answer.
    document.addEventListener("submit", (event) => {
      const form = event.target;
      const panel = $("invite-panel");
      if (!(form instanceof HTMLFormElement) || !panel || !panel.contains(form)) return;
      event.preventDefault();
      this.send(form);
    });
  }

  async send(form) {
    if (this.busy) return;
    this.busy = true;
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
    } catch {
      this.busy = false;
      this.show([{ text: this.texts.get("invite-failed"), tags: "error" }]);
      return;
    }
    const html = response.ok ? await response.text().catch(() => "") : "";
    this.busy = false;
    const answer = new DOMParser().parseFromString(html, "text/html");
    const panel = answer.getElementById("invite-panel");
    if (!panel) {
      window.location.reload(); // the session ended, the call ended…: the page says why
      return;
    }
    const messages = [...answer.querySelectorAll("main > .messages .message")].map((item) => ({
      text: item.textContent,
      tags: [...item.classList].find((name) => name.startsWith("message-"))?.slice(8) || "info",
    }));
    $("invite-panel").replaceWith(document.importNode(panel, true));
    this.show(messages);
  }

  // The server's messages in the panel; the focus goes to them (the button pressed is gone).
  show(messages) {
    const box = $("invite-result");
    if (!box) return;
    box.replaceChildren(
      ...messages.map(({ text, tags }) => {
        const line = document.createElement("p");
        line.className = `message message-${tags}`;
        line.textContent = text;
        return line;
      }),
    );
    if (messages.length) box.focus();
  }
}
