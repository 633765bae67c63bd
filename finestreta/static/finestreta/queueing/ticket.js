// The citizen's ticket page: its live part is fetched again every few seconds (less often while
// the page is hidden) and replaced when it changed; the polite live region announces the new
// place, and "it is your turn" is an alert that also takes the focus. Without JavaScript the
// page still works: a "check again" link reloads it.

const EVERY = 5000;
const HIDDEN_EVERY = 15000;

const box = document.getElementById("ticket");
let timer = null;

async function refresh() {
  clearTimeout(timer);
  try {
    const response = await fetch(box.dataset.liveUrl, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      cache: "no-store",
    });
    if (response.ok) {
      const html = (await response.text()).trim();
      if (html !== box.dataset.shown) {
        const wasTurn = Boolean(box.querySelector("[data-turn]"));
        box.innerHTML = html;
        box.dataset.shown = html;
        const turn = box.querySelector("[data-turn]");
        if (turn && !wasTurn) {
          turn.tabIndex = -1;
          turn.focus();
          document.title = `${turn.querySelector("h2").textContent} — ${document.title}`;
        }
        if (!box.querySelector("#ticket-waiting")) {
          const leave = document.getElementById("leave-form");
          if (leave) leave.remove();
        }
      }
    }
  } catch {
    // Offline for a moment: try again at the next turn.
  }
  if (box.querySelector("#ticket-done, #ticket-left")) return; // nothing more will change
  timer = setTimeout(refresh, document.hidden ? HIDDEN_EVERY : EVERY);
}

if (box) {
  box.dataset.shown = box.innerHTML.trim();
  timer = setTimeout(refresh, EVERY);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
}
