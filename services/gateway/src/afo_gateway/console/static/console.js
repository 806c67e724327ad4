// The console's own script, loaded after htmx: the live feed, uploads with a progress bar, copy buttons.
// No inline script anywhere (the pages' Content-Security-Policy forbids it): everything is wired here by
// event delegation, so parts of the page that htmx swaps in work without being wired again.
(() => {
  "use strict";
  const body = document.body;

  function requestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // The tenant's live feed (/v1/realtime, the session cookie). Each item becomes a DOM event on <body>:
  // "afo-feed-<context>" (conversation, call, knowledge, workflow, ..., and "health" for operators); lists listen with
  // hx-trigger="afo-feed-conversation from:body" and fetch themselves again.
  function startLiveFeed() {
    const path = body.dataset.live;
    const status = document.getElementById("live-status");
    if (!path || !("WebSocket" in window)) return;
    const show = (text, state) => {
      if (!status) return;
      status.textContent = text;
      status.dataset.state = state;
    };
    let delay = 1000;
    const connect = () => {
      const url = new URL(path, location.href);
      url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(url);
      socket.addEventListener("open", () => {
        delay = 1000;
        show("Live", "on");
      });
      socket.addEventListener("message", (message) => {
        let item;
        try {
          item = JSON.parse(message.data);
        } catch {
          return;
        }
        // Events ("<context>.<event>") and, for operators, the platform's "health" frames.
        if (!item || typeof item.type !== "string") return;
        if (!item.type.includes(".") && item.type !== "health") return;
        const context = item.type.split(".")[0];
        body.dispatchEvent(new CustomEvent("afo-feed-" + context, { detail: item }));
      });
      socket.addEventListener("close", (closed) => {
        if (closed.code === 4401 || closed.code === 4403) {
          show("Not live: log in again", "off");
          return;
        }
        show("Reconnecting…", "off");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      });
    };
    connect();
  }

  function problemDetail(xhr) {
    try {
      return JSON.parse(xhr.responseText).detail;
    } catch {
      return null;
    }
  }

  // A document goes straight to the public API (same origin, the session cookie) so the browser can report
  // how much of it has been sent; the documents' table then follows the server's reading of it.
  function upload(form) {
    const input = form.querySelector("input[type=file]");
    const bar = form.querySelector("progress");
    const status = form.querySelector("[role=status]");
    const file = input && input.files[0];
    if (!file) return;
    const maxBytes = Number(form.dataset.maxBytes || 0);
    if (maxBytes && file.size > maxBytes) {
      status.textContent = `${file.name} is larger than the ${(maxBytes / 1048576).toFixed(1)} MB limit.`;
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Idempotency-Key", requestId());
    xhr.upload.addEventListener("progress", (progress) => {
      if (progress.lengthComputable) bar.value = progress.loaded / progress.total;
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 1;
        status.textContent = `${file.name} uploaded; it is being read now.`;
        form.reset();
        body.dispatchEvent(new CustomEvent("afo-feed-knowledge"));
      } else {
        status.textContent = problemDetail(xhr) || `The upload failed (HTTP ${xhr.status}).`;
      }
    });
    xhr.addEventListener("error", () => {
      status.textContent = "The upload did not reach the server: check the connection and try again.";
    });
    bar.hidden = false;
    bar.value = 0;
    status.textContent = `Uploading ${file.name}…`;
    const data = new FormData();
    data.append("file", file);
    xhr.send(data);
  }

  async function copy(button) {
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.value);
    } catch {
      source.select();
      document.execCommand("copy");
    }
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = "Copy"), 2000);
  }

  document.addEventListener("submit", (event) => {
    if (event.target.matches("form[data-upload]")) {
      event.preventDefault();
      upload(event.target);
    }
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy]");
    if (button) copy(button);
  });
  startLiveFeed();
})();
