/*
 * AFO chat widget: a lead chats with the tenant's agent (and, where the tenant offers it, calls it) from the
 * tenant's own site. Embedded with one tag, before </body>:
 *
 *   <script src="https://afo.example.com/widget.js" data-afo-key="pk_…" async></script>
 *
 * The API is where this script came from; the publishable key (pk_…) opens its one agent's web conversations,
 * from the origins on the key's allow-list only.
 *
 * Dependency-free, and fit for a page with a strict Content-Security-Policy: no inline script, no eval, no
 * inline style. The DOM is built with createElement inside a shadow root; the styles are a constructed
 * stylesheet adopted by that root, and the tenant's colour is a rule added to it through the CSSOM.
 *
 * Nothing is lost or shown twice:
 * - every message gets an Idempotency-Key here, before it is first sent; after a network failure it is sent
 *   again with the same key until the API answers, so the platform records it once;
 * - messages are kept by their id: a reply streamed (reply.delta, reply.completed) and the same reply read
 *   back from the history are one message;
 * - when the stream (EventSource) opens again after an error, a restart of the gateway or the browser coming
 *   back online, the history is read once the stream is open: what came before is in the history, what comes
 *   after is on the stream.
 */
(() => {
  "use strict";

  const script = document.currentScript || document.querySelector("script[data-afo-key]");
  const KEY = script && script.getAttribute("data-afo-key");
  if (!script || !KEY) {
    console.error("[AFO widget] no data-afo-key on the widget's <script> tag: the chat stays hidden.");
    return;
  }
  const API = new URL(script.src, location.href).href.replace(/\/widget\.js([?#].*)?$/, "");
  const STORE = `afo-widget:${KEY}`;
  const MAX_TEXT = 8000;
  const REPLY_WATCH_MS = 10000;   // no reply streamed after this: read the history
  const REPLY_GIVE_UP_MS = 90000; // and past this, stop showing that one is coming
  const TEXT = {
    busy: "We're getting a lot of messages right now — please try again in a moment.",
    paused: "This chat can't take new messages right now. Please try again later.",
    offline: "You're offline. Your messages will be sent when you're back online.",
    reconnecting: "Reconnecting…",
    failed: "Something went wrong. Please try again in a moment.",
    unavailable: "This chat is not available right now.",
    handoff: "A member of our team will follow up with you here.",
    voiceFailed: "The call could not be started.",
    microphone: "Allow the microphone to call us.",
    calling: "Calling…",
    onCall: "You're on a call. Press the red phone to hang up.",
    placeholder: "Type your message…",
  };

  // ---------------------------------------------------------------- small helpers

  function randomId(prefix) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));   // randomUUID needs a secure context
    return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function backoff(attempt) {
    return Math.min(30000, 1000 * 2 ** attempt) * (0.75 + Math.random() / 2);
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const saved = {
    get(name) {
      try { return JSON.parse(sessionStorage.getItem(`${STORE}:${name}`) || "null"); } catch { return null; }
    },
    set(name, value) {
      try {
        if (value === null) sessionStorage.removeItem(`${STORE}:${name}`);
        else sessionStorage.setItem(`${STORE}:${name}`, JSON.stringify(value));
      } catch { /* storage refused (private mode, sandbox): the chat still works for this page */ }
    },
  };

  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) node.append(child);
    return node;
  }

  function icon(path, name = "") {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    if (name) svg.setAttribute("class", name);
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const shape = document.createElementNS(ns, "path");
    shape.setAttribute("d", path);
    svg.append(shape);
    return svg;
  }

  const ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
    close: "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z",
    send: "M3 20.5 21 12 3 3.5v6.6l12 1.9-12 1.9z",
    phone: "M6.6 10.8a15 15 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.6 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.6 3.6a1 1 0 0 1-.25 1z",
  };

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, problem, retryAfterS) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
      this.retryAfterS = retryAfterS;
    }
  }

  class NetworkError extends Error {}

  async function call(method, path, { body, idempotencyKey } = {}) {
    const headers = { Authorization: `Bearer ${KEY}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    let response, text;
    try {
      response = await fetch(API + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        mode: "cors", credentials: "omit", cache: "no-store",
      });
      text = await response.text();
    } catch (error) {
      throw new NetworkError(String(error));
    }
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    if (!response.ok) {
      const retryAfter = Number(response.headers.get("Retry-After")) || undefined;
      throw new ApiError(response.status, json, retryAfter);
    }
    return json;
  }

  // A plan's allowance used up for the month is no moment's wait: said so, without naming the plan to a visitor.
  const busyText = (error) => (/quota-exceeded$/.test(error.problem.type || "") && error.problem.resets_at
    ? TEXT.paused : TEXT.busy);

  // Worth another try with the same Idempotency-Key: the request may or may not have been recorded.
  const retryable = (error) => error instanceof NetworkError || (error instanceof ApiError
    && (error.status >= 500 || (error.status === 409 && /idempotency/.test(error.problem.type || ""))));

  function reportToSiteOwner(error) {
    if (!(error instanceof ApiError)) return;
    const detail = error.problem.detail || error.message;
    if (error.status === 403) {
      console.error(`[AFO widget] this page's origin (${location.origin}) is not allowed to use the publishable `
        + `key ${KEY.slice(0, 7)}…: add the origin to the key's allowed origins in the AFO console. (${detail})`);
    } else if (error.status === 401) {
      console.error(`[AFO widget] the publishable key ${KEY.slice(0, 7)}… is not valid (revoked?): ${detail}`);
    } else if (error.status === 409 || error.status === 404) {
      console.error(`[AFO widget] ${detail}`);
    }
  }

  // ---------------------------------------------------------------- the conversation, kept by message id

  const state = {
    config: null,
    conversationId: saved.get("conversation"),
    openKey: saved.get("open-key"),         // Idempotency-Key of the conversation being opened
    messages: new Map(),                     // id → {id, role, text, citations, state, inReplyTo}
    order: [],                               // ids, as shown
    outbox: saved.get("outbox") || [],       // [{localId, text, key}] not yet accepted, in order
    awaiting: new Map(),                     // our message id → when it was accepted, until its reply comes
    answered: new Set(),                     // message ids a reply came for
    handedOff: false,
    disabled: false,
  };

  function upsert(message) {
    const known = state.messages.get(message.id);
    if (known) Object.assign(known, message);
    else {
      state.messages.set(message.id, message);
      state.order.push(message.id);
    }
    return state.messages.get(message.id);
  }

  function replied(messageId) {
    state.answered.add(messageId);
    state.awaiting.delete(messageId);
  }

  function onDelta(data) {
    const known = state.messages.get(data.message_id);
    if (known && known.state === "done") return;
    const reply = known || upsert({ id: data.message_id, role: "assistant", parts: [], text: "",
      citations: [], state: "streaming", inReplyTo: data.in_reply_to });
    reply.parts[data.index] = data.text;        // a delta seen twice lands on its own index
    reply.text = reply.parts.join("");
    ui.render();
  }

  function onCompleted(data) {
    upsert({ id: data.message_id, role: "assistant", text: data.text, citations: data.citations || [],
      state: "done", inReplyTo: data.in_reply_to });
    replied(data.in_reply_to);
    ui.render();
  }

  // The history in its order, then what is ours and not in it yet (on its way, or being answered).
  function merge(history) {
    const seen = new Set();
    for (const message of history.messages) {
      seen.add(message.id);
      upsert({ id: message.id, role: message.role, text: message.text, citations: message.citations || [],
        state: "done", inReplyTo: message.in_reply_to });
      // A message and its reply are recorded together: one in the history has had its turn.
      if (message.role === "user") state.awaiting.delete(message.id);
      else if (message.in_reply_to) replied(message.in_reply_to);
    }
    state.order = history.messages.map((m) => m.id).concat(state.order.filter((id) => !seen.has(id)));
    state.handedOff = state.handedOff || history.status === "handed_off";
    ui.render();
  }

  // ---------------------------------------------------------------- stream and reconciliation

  const live = { source: null, attempt: 0, timer: null, fresh: false, watch: null };

  // Opens the stream; resolves once it is open or has failed (it then tries again by itself).
  function connect() {
    clearTimeout(live.timer);
    if (!state.conversationId || state.disabled || !navigator.onLine) return Promise.resolve();
    if (live.source) live.source.close();
    const url = `${API}/v1/conversations/${encodeURIComponent(state.conversationId)}/stream`
      + `?access_token=${encodeURIComponent(KEY)}`;
    const source = new EventSource(url);
    live.source = source;
    let settle;
    const settled = new Promise((resolve) => { settle = resolve; });
    source.addEventListener("open", () => {
      settle();
      live.attempt = 0;
      ui.clear("reconnecting");
      if (live.fresh) live.fresh = false;      // a conversation just opened has no history to read
      else reconcile();
    });
    source.addEventListener("error", () => {
      settle();
      if (live.source !== source) return;
      source.close();
      live.source = null;
      if (navigator.onLine) ui.say(TEXT.reconnecting, "info", "reconnecting");
      retryLater(live.attempt++);
    });
    const on = (kind, handle) => source.addEventListener(kind, (event) => {
      try { handle(JSON.parse(event.data)); } catch (error) { console.warn("[AFO widget] bad event", error); }
    });
    on("reply.delta", onDelta);
    on("reply.completed", onCompleted);
    on("handoff", () => { state.handedOff = true; ui.render(); });
    on("revoked", () => { source.close(); live.source = null; disable(TEXT.unavailable); });
    on("reconnect", () => { source.close(); live.source = null; retryLater(0); });
    return settled;
  }

  function retryLater(attempt, ms = backoff(attempt)) {
    clearTimeout(live.timer);
    live.timer = setTimeout(async () => {
      if (!navigator.onLine) return;           // the "online" event connects again
      if (await reconcile()) connect();        // the history first: it tells a gone conversation from a lost line
    }, ms);
  }

  let reconciling = null;
  function reconcile() {
    if (!state.conversationId) return Promise.resolve(false);
    reconciling = reconciling || (async () => {
      try {
        merge(await call("GET", `/v1/conversations/${encodeURIComponent(state.conversationId)}`));
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          forgetConversation();
          return false;
        }
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          reportToSiteOwner(error);
          disable(TEXT.unavailable);
          return false;
        }
        if (error instanceof ApiError && error.status === 429) ui.say(TEXT.busy, "error", "busy");
        retryLater(live.attempt++, error.retryAfterS ? error.retryAfterS * 1000 : undefined);
        return false;
      } finally {
        reconciling = null;
      }
    })();
    return reconciling;
  }

  function forgetConversation() {
    if (live.source) live.source.close();
    live.source = null;
    state.conversationId = null;
    state.messages.clear();
    state.order = [];
    state.awaiting.clear();
    state.handedOff = false;
    saved.set("conversation", null);
    ui.render();
  }

  function disable(text) {
    state.disabled = true;
    ui.say(text, "error", "unavailable");
    ui.render();
  }

  // A reply that never came on the stream (a stream that broke without an error) is read from the history;
  // one that does not come at all (the agent handed over, or is down) stops being waited for.
  function watchReplies() {
    clearTimeout(live.watch);
    if (state.awaiting.size === 0) return;
    live.watch = setTimeout(async () => {
      if (state.awaiting.size > 0 && navigator.onLine) await reconcile();
      for (const [id, since] of state.awaiting) {
        if (Date.now() - since > REPLY_GIVE_UP_MS) state.awaiting.delete(id);
      }
      ui.render();
      watchReplies();
    }, REPLY_WATCH_MS);
  }

  // ---------------------------------------------------------------- sending

  let sending = false;

  function send(text) {
    const entry = { localId: randomId("local_"), text, key: randomId("afo-msg-") };
    state.outbox.push(entry);
    saved.set("outbox", state.outbox);
    upsert({ id: entry.localId, role: "user", text, citations: [], state: "sending" });
    ui.render();
    flush();
  }

  async function openConversation() {
    if (state.conversationId) return;
    state.openKey = state.openKey || randomId("afo-open-");
    saved.set("open-key", state.openKey);
    const made = await call("POST", "/v1/conversations", {
      body: { agent_id: state.config.agent_id, channel: "web" }, idempotencyKey: state.openKey });
    state.conversationId = made.id;
    state.openKey = null;
    saved.set("conversation", made.id);
    saved.set("open-key", null);
    live.fresh = true;
    // The first message goes once the stream is open (or after a few seconds): its reply comes on it.
    await Promise.race([connect(), sleep(3000)]);
  }

  async function flush() {
    if (sending) return;
    sending = true;
    let attempt = 0;
    try {
      while (state.outbox.length > 0 && !state.disabled) {
        const entry = state.outbox[0];
        try {
          await openConversation();
          const accepted = await call("POST",
            `/v1/conversations/${encodeURIComponent(state.conversationId)}/messages`,
            { body: { text: entry.text }, idempotencyKey: entry.key });
          accepted.message_id = accepted.message_id || entry.localId;
          state.outbox.shift();
          saved.set("outbox", state.outbox);
          acknowledge(entry.localId, accepted.message_id);
          attempt = 0;
          for (const topic of ["busy", "failed", "offline"]) ui.clear(topic);
        } catch (error) {
          if (retryable(error)) {
            if (!navigator.onLine) return;     // sent again when the browser is back online
            await sleep(error.retryAfterS ? error.retryAfterS * 1000 : backoff(attempt++));
            continue;
          }
          if (error instanceof ApiError && error.status === 404 && !entry.moved) {
            // The conversation is gone (or not this key's): the message opens a new one, as a new request.
            forgetConversation();
            Object.assign(entry, { moved: true, key: randomId("afo-msg-") });
            showOutbox();
            continue;
          }
          refuse(entry, error);
        }
      }
    } finally {
      sending = false;
    }
  }

  function acknowledge(localId, messageId) {
    const position = state.order.indexOf(localId);
    const message = state.messages.get(localId);
    if (!message || position < 0) return;
    state.messages.delete(localId);
    if (state.messages.has(messageId)) {            // read back from the history already
      state.order.splice(position, 1);
    } else {
      message.id = messageId;
      message.state = "sent";
      state.messages.set(messageId, message);
      state.order[position] = messageId;
    }
    if (!state.answered.has(messageId)) state.awaiting.set(messageId, Date.now());
    watchReplies();
    ui.render();
  }

  function showOutbox() {
    for (const entry of state.outbox) {
      upsert({ id: entry.localId, role: "user", text: entry.text, citations: [], state: "sending" });
    }
    ui.render();
  }

  // Refused for good: the message leaves the list and its text goes back to the input, with why.
  function refuse(entry, error) {
    state.outbox = state.outbox.filter((e) => e !== entry);
    saved.set("outbox", state.outbox);
    state.messages.delete(entry.localId);
    state.order = state.order.filter((id) => id !== entry.localId);
    ui.restore(entry.text);
    const status = error instanceof ApiError ? error.status : 0;
    if (status === 429) ui.say(busyText(error), "error", "busy");
    else if (status === 402) ui.say(error.problem.detail || TEXT.busy, "error", "busy");
    else if (status === 401 || status === 403) { reportToSiteOwner(error); disable(TEXT.unavailable); }
    else {
      reportToSiteOwner(error);
      ui.say(status === 422 && error.problem.detail ? error.problem.detail : TEXT.failed, "error", "failed");
    }
    ui.render();
  }

  // ---------------------------------------------------------------- voice (WebRTC)

  const voice = { pc: null, stream: null };

  async function startCall() {
    if (voice.pc) return hangUp();
    ui.calling("starting");
    ui.say(TEXT.calling, "info", "voice");
    try {
      voice.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      ui.calling(null);
      ui.say(TEXT.microphone, "error", "voice");
      return;
    }
    const pc = new RTCPeerConnection();
    voice.pc = pc;
    for (const track of voice.stream.getTracks()) pc.addTrack(track, voice.stream);
    pc.addEventListener("track", (event) => {
      ui.audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      ui.audio.play().catch(() => {});
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "connected") {
        ui.calling("connected");
        ui.say(TEXT.onCall, "info", "voice");
      } else if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        hangUp();
      }
    });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);                        // the platform takes the candidates with the offer
      const answer = await call("POST", "/v1/calls/webrtc/offer",
        { body: { sdp: pc.localDescription.sdp, type: "offer" } });
      if (voice.pc !== pc) return;
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch (error) {
      hangUp();
      if (error instanceof ApiError && error.status === 429) ui.say(busyText(error), "error", "voice");
      else ui.say(TEXT.voiceFailed, "error", "voice");
      reportToSiteOwner(error);
    }
  }

  function gathered(pc, timeoutMs = 3000) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
      const check = () => { if (pc.iceGatheringState === "complete") done(); };
      pc.addEventListener("icegatheringstatechange", check);
      setTimeout(done, timeoutMs);
    });
  }

  function hangUp() {
    if (voice.pc) voice.pc.close();
    if (voice.stream) for (const track of voice.stream.getTracks()) track.stop();
    voice.pc = voice.stream = null;
    ui.audio.srcObject = null;
    ui.calling(null);
    ui.clear("voice");
  }

  // ---------------------------------------------------------------- the interface

  const CSS = `
    :host { all: initial; }
    [hidden] { display: none !important; }
    .root { position: fixed; bottom: 20px; right: 20px; z-index: 2147483000; display: flex;
      flex-direction: column; align-items: flex-end; gap: 12px; color: #111827;
      font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    .root[data-position="bottom-left"] { right: auto; left: 20px; align-items: flex-start; }
    button { font: inherit; cursor: pointer; border: 0; background: none; color: inherit; }
    svg { width: 22px; height: 22px; fill: currentColor; }
    .launcher { width: 56px; height: 56px; border-radius: 50%; background: var(--afo-colour); color: #fff;
      display: grid; place-items: center; box-shadow: 0 6px 20px rgba(0, 0, 0, .22); }
    .launcher svg { width: 26px; height: 26px; }
    .launcher[aria-expanded="true"] .open, .launcher[aria-expanded="false"] .shut { display: none; }
    .panel { width: min(370px, calc(100vw - 40px)); height: min(560px, calc(100vh - 110px)); background: #fff;
      border-radius: 14px; box-shadow: 0 12px 40px rgba(0, 0, 0, .25); display: flex; flex-direction: column;
      overflow: hidden; }
    header { background: var(--afo-colour); color: #fff; padding: 12px 14px; display: flex;
      align-items: center; gap: 8px; }
    header .title { flex: 1; font-weight: 600; font-size: 15px; overflow: hidden; text-overflow: ellipsis;
      white-space: nowrap; }
    header button { width: 32px; height: 32px; border-radius: 50%; display: grid; place-items: center; }
    header button:hover, header button:focus-visible { background: rgba(255, 255, 255, .18); }
    .voice[data-call="connected"], .voice[data-call="starting"] { background: #dc2626; }
    .notice { padding: 8px 14px; font-size: 13px; background: #eff6ff; color: #1e3a8a; }
    .notice[data-kind="error"] { background: #fef2f2; color: #991b1b; }
    .messages { flex: 1; overflow-y: auto; list-style: none; margin: 0; padding: 14px; display: flex;
      flex-direction: column; gap: 8px; background: #f9fafb; }
    .msg { max-width: 82%; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap;
      overflow-wrap: anywhere; }
    .msg[data-role="assistant"] { align-self: flex-start; background: #fff; border: 1px solid #e5e7eb;
      border-bottom-left-radius: 4px; }
    .msg[data-role="user"] { align-self: flex-end; background: var(--afo-colour); color: #fff;
      border-bottom-right-radius: 4px; }
    .msg[data-state="sending"] { opacity: .6; }
    .msg.system { align-self: center; background: none; color: #6b7280; font-size: 12px; text-align: center; }
    .citations { margin: 6px 0 0; padding: 6px 0 0; border-top: 1px solid #e5e7eb; list-style: none;
      font-size: 12px; color: #4b5563; white-space: normal; }
    .typing { display: flex; gap: 4px; padding: 0 14px 10px; background: #f9fafb; }
    .typing span { width: 7px; height: 7px; border-radius: 50%; background: #9ca3af;
      animation: afo-blink 1.2s infinite ease-in-out; }
    .typing span:nth-child(2) { animation-delay: .2s; }
    .typing span:nth-child(3) { animation-delay: .4s; }
    @keyframes afo-blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
    form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e5e7eb; background: #fff; }
    textarea { flex: 1; resize: none; border: 1px solid #d1d5db; border-radius: 10px; padding: 8px 10px;
      font: inherit; min-height: 20px; max-height: 120px; color: inherit; }
    textarea:focus { outline: 2px solid var(--afo-colour); outline-offset: -1px; }
    form button { width: 40px; border-radius: 10px; background: var(--afo-colour); color: #fff;
      display: grid; place-items: center; }
    form button:disabled { opacity: .5; cursor: default; }
  `;

  const ui = {
    host: null, root: null, panel: null, list: null, input: null, noticeEl: null, typing: null,
    voiceButton: null, audio: null, nodes: new WeakMap(), systemNodes: new Map(),

    mount(config) {
      const host = el("div", { "data-afo-widget": "" });
      const shadow = host.attachShadow({ mode: "open" });
      this.style(shadow, config.colour);
      this.host = host;
      const title = el("span", { class: "title", text: config.title });
      this.voiceButton = el("button", { type: "button", class: "voice", "aria-label": "Call us",
        hidden: !config.voice }, [icon(ICONS.phone)]);
      const close = el("button", { type: "button", class: "close", "aria-label": "Close chat" },
        [icon(ICONS.close)]);
      this.noticeEl = el("div", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
      this.greeting = el("li", { class: "msg greeting", "data-role": "assistant", text: config.greeting });
      this.list = el("ol", { class: "messages", "aria-live": "polite" }, [this.greeting]);
      this.typing = el("div", { class: "typing", "aria-label": "The assistant is typing", hidden: true },
        [el("span"), el("span"), el("span")]);
      this.input = el("textarea", { rows: 1, maxlength: MAX_TEXT, placeholder: TEXT.placeholder,
        "aria-label": "Message" });
      const submit = el("button", { type: "submit", "aria-label": "Send" }, [icon(ICONS.send)]);
      const form = el("form", {}, [this.input, submit]);
      this.audio = el("audio", { autoplay: true });
      this.panel = el("section", { class: "panel", role: "dialog", "aria-label": config.title, hidden: true },
        [el("header", {}, [title, this.voiceButton, close]), this.noticeEl, this.list, this.typing, form,
          this.audio]);
      this.launcher = el("button", { type: "button", class: "launcher", "aria-label": "Open chat",
        "aria-expanded": "false" }, [icon(ICONS.chat, "open"), icon(ICONS.close, "shut")]);
      this.root = el("div", { class: "root", "data-position": config.position }, [this.panel, this.launcher]);
      shadow.append(this.root);

      this.launcher.addEventListener("click", () => this.toggle());
      close.addEventListener("click", () => this.toggle(false));
      this.voiceButton.addEventListener("click", () => startCall());
      form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.submit();
        }
      });
      this.panel.addEventListener("keydown", (event) => { if (event.key === "Escape") this.toggle(false); });
      document.body.append(host);
      if (saved.get("open")) this.toggle(true, false);   // open before a reload: open again, focus left alone
    },

    style(shadow, colour) {
      const safe = /^#[0-9a-f]{6}$/i.test(colour) ? colour : "#2563eb";
      const css = `${CSS} :host { --afo-colour: ${safe}; }`;
      if ("adoptedStyleSheets" in Document.prototype && "replaceSync" in CSSStyleSheet.prototype) {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(css);
        shadow.adoptedStyleSheets = [sheet];
      } else {
        shadow.append(el("style", { text: css }));   // older browsers, on pages that allow it
      }
    },

    toggle(open = this.panel.hidden, focus = true) {
      this.panel.hidden = !open;
      this.launcher.setAttribute("aria-expanded", String(open));
      this.launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
      saved.set("open", open || null);
      if (open) this.scroll();
      if (focus) (open ? this.input : this.launcher).focus();
    },

    submit() {
      const text = this.input.value.trim();
      if (!text || state.disabled) return;
      this.input.value = "";
      send(text.slice(0, MAX_TEXT));
    },

    restore(text) {
      if (!this.input.value) this.input.value = text;
    },

    // One notice at a time, about a topic; clearing a topic leaves a newer notice about another one.
    say(text, kind, topic) {
      this.noticeEl.textContent = text;
      this.noticeEl.setAttribute("data-kind", kind);
      this.noticeEl.setAttribute("data-topic", topic);
      this.noticeEl.hidden = false;
    },

    clear(topic) {
      if (this.noticeEl && this.noticeEl.getAttribute("data-topic") === topic) this.noticeEl.hidden = true;
    },

    calling(phase) {
      if (phase) this.voiceButton.setAttribute("data-call", phase);
      else this.voiceButton.removeAttribute("data-call");
      this.voiceButton.setAttribute("aria-label", phase ? "Hang up" : "Call us");
    },

    render() {
      if (!this.list) return;
      const shown = [this.greeting];
      for (const id of state.order) {
        const message = state.messages.get(id);
        if (message) shown.push(this.node(message));
      }
      if (state.handedOff) shown.push(this.system("handoff", TEXT.handoff));
      const keep = new Set(shown);
      for (const child of [...this.list.children]) if (!keep.has(child)) child.remove();
      shown.forEach((node, index) => {
        if (this.list.children[index] !== node) this.list.insertBefore(node, this.list.children[index] || null);
      });
      // The dots: from a message leaving until its reply starts to stream in (not while offline).
      const streaming = [...state.messages.values()].some((m) => m.state === "streaming");
      const pending = state.awaiting.size > 0 || (state.outbox.length > 0 && navigator.onLine);
      this.typing.hidden = !pending || streaming;
      this.input.disabled = state.disabled;
      this.scroll();
    },

    node(message) {
      let node = this.nodes.get(message);
      if (!node) {
        node = el("li", { class: "msg" }, [el("span", { class: "text" })]);
        this.nodes.set(message, node);
      }
      node.setAttribute("data-role", message.role);
      node.setAttribute("data-state", message.state);
      if (message.id.startsWith("local_")) node.removeAttribute("data-id");
      else node.setAttribute("data-id", message.id);
      node.firstChild.textContent = message.text;
      const citations = message.citations || [];
      let list = node.querySelector(".citations");
      if (citations.length === 0) {
        if (list) list.remove();
      } else {
        if (!list) node.append(list = el("ul", { class: "citations", "aria-label": "Sources" }));
        list.replaceChildren(...citations.map((c) => el("li", { class: "citation",
          text: `[${c.index}] ${c.title}${c.page ? `, p. ${c.page}` : ""}` })));
      }
      return node;
    },

    system(name, text) {
      let node = this.systemNodes.get(name);
      if (!node) this.systemNodes.set(name, node = el("li", { class: "msg system", "data-role": "system", text }));
      return node;
    },

    scroll() {
      if (this.list) this.list.scrollTop = this.list.scrollHeight;
    },
  };

  // ---------------------------------------------------------------- start

  async function start(attempt = 0) {
    try {
      state.config = await call("GET", "/v1/widget/config");
    } catch (error) {
      if (error instanceof NetworkError || (error instanceof ApiError && error.status >= 500)) {
        if (attempt < 6) setTimeout(() => start(attempt + 1), backoff(attempt));
        return;
      }
      if (error instanceof ApiError && error.status === 429) {
        if (attempt < 6) setTimeout(() => start(attempt + 1), (error.retryAfterS || 5) * 1000);
        return;
      }
      reportToSiteOwner(error);                 // wrong origin, bad key, unpublished agent: stay hidden
      return;
    }
    ui.mount(state.config);
    showOutbox();                               // sent before a reload, not yet accepted
    window.addEventListener("offline", () => {
      if (live.source) live.source.close();
      live.source = null;
      ui.say(TEXT.offline, "info", "offline");
    });
    window.addEventListener("online", () => {
      ui.clear("offline");
      if (state.conversationId) {
        live.attempt = 0;
        connect();
      }
      flush();
    });
    if (state.conversationId) {
      if (await reconcile()) connect();
    }
    if (state.outbox.length > 0) flush();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", () => start(), { once: true });
})();
