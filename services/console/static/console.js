// Live locations: every few seconds, replace each location's figures and queue with the
// server's fragment. Forms are outside the replaced part, so typing is never lost.
"use strict";
(function () {
  const live = document.querySelector("[data-poll]");
  if (!live) return;
  const every = Math.max(1, parseFloat(live.dataset.poll || "2")) * 1000;
  const state = document.getElementById("live-state");
  const lang = document.documentElement.lang;

  async function refresh() {
    try {
      const answer = await fetch("/api/locations?lang=" + encodeURIComponent(lang), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (answer.status === 401) {
        window.location.assign("/login?next=/locations");
        return;
      }
      if (!answer.ok) throw new Error(String(answer.status));
      const body = await answer.json();
      for (const [code, loc] of Object.entries(body.locations)) {
        const section = document.getElementById("loc-" + code);
        if (!section) continue;
        const part = section.querySelector(".live-part");
        const open = Array.from(part.querySelectorAll("details[open]")).map((d) => d.className);
        part.innerHTML = loc.html;
        for (const name of open) {
          const details = part.querySelector("details." + name);
          if (details) details.open = true;
        }
        const level = section.querySelector('input[data-field="level"]');
        if (level && loc.security_level) level.value = loc.security_level;
      }
      if (state.textContent !== body.state) state.innerHTML = body.state;
    } catch (error) {
      state.dataset.stale = "true";
    } finally {
      window.setTimeout(refresh, every);
    }
  }
  window.setTimeout(refresh, every);
})();
