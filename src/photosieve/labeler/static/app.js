// photosieve labeler: a keyboard-driven grid of thumbnails; plain JS, no build step, no CDN.
// The server keeps every mark, so this page only mirrors it: a reload or a closed tab loses nothing.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  // The token arrives in the address; keep it for this tab only and take it out of the address
  // bar (and history) at once. Requests carry it in a header; a reload finds it here again.
  const tokenKey = "photosieve-token-" + location.port;
  const token =
    new URLSearchParams(location.search).get("token") || sessionStorage.getItem(tokenKey) || "";
  if (token) sessionStorage.setItem(tokenKey, token);
  if (location.search) history.replaceState(null, "", location.pathname);
  const query = token ? "?token=" + encodeURIComponent(token) : "";
  const grid = $("grid");
  // id -> {id, name, taken, folder, label, score, reasons, burst, burst_size, kept, kept_name,
  //        el, pending}
  const photos = new Map();
  let fileOrder = []; // ids in the server's order (folder, then name)
  let order = []; // ids as shown
  let cursor = 0;
  let currentEl = null; // the tile shown as current
  let view = { mode: "label", threshold: null, model: null, session: 0 };
  let queue = Promise.resolve(); // marks and undos reach the server in the order they were made
  let first = true; // the first listing puts the cursor on the first unlabelled photo
  let polling = false;
  let progress = {}; // the last listing's indexing/scoring/model facts

  function api(path, body) {
    const init = { headers: { "X-Photosieve-Token": token } };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(async (response) => {
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.error || response.status + " " + response.statusText);
      return data;
    });
  }

  function enqueue(job) {
    const done = queue.then(job);
    queue = done.catch(() => undefined);
    return done;
  }

  function setStatus(text, isError) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  // --- words -----------------------------------------------------------------------------

  function labelWord(label) {
    if (view.mode === "review") return label === "keep" ? "Keep: restore" : "Discard: stays";
    return label === "keep" ? "Keep" : label === "discard" ? "Discard" : "";
  }

  function badgeText(label) {
    const word = labelWord(label);
    return word ? (label === "keep" ? "✓ " : "✕ ") + word : "";
  }

  function scoreText(p) {
    return p.score === null || p.score === undefined ? "" : "score " + p.score.toFixed(2);
  }

  // Why the service quarantined it, as recorded then (review only): "blurred, model 0.93".
  function reasonsText(p) {
    return p.reasons && p.reasons.length ? p.reasons.join(", ") : "";
  }

  // A burst (near-identical frames of one moment) is shown together; say so on each frame.
  function burstText(p) {
    if (!p.burst) return "";
    const kept = p.id === p.kept ? "the kept frame" : "kept: " + (p.kept_name || "another frame");
    return `burst of ${p.burst_size} · ${kept}`;
  }

  function dateText(iso) {
    return iso ? iso.replace("T", " ").slice(0, 19) : "date unknown";
  }

  // --- tiles -----------------------------------------------------------------------------

  function span(cls) {
    return Object.assign(document.createElement("span"), { className: cls });
  }

  function makeTile(p) {
    const el = Object.assign(document.createElement("div"), { className: "tile", id: "p-" + p.id });
    el.setAttribute("role", "option");
    el.setAttribute("aria-selected", "false");
    const img = Object.assign(document.createElement("img"), {
      alt: "", loading: "lazy", decoding: "async", width: 256, height: 256,
      src: "/thumb/" + p.id + query,
    });
    img.addEventListener("error", () => el.classList.add("broken"));
    el.append(img, span("badge"), span("name"), span("meta"), span("meta reasons"), span("burst"));
    el.addEventListener("click", () => {
      moveTo(order.indexOf(p.id));
      grid.focus();
    });
    el.addEventListener("dblclick", openViewer);
    p.el = el;
    return el;
  }

  function updateTile(p) {
    const el = p.el;
    if (!el) return;
    el.dataset.label = p.label || "none";
    el.querySelector(".badge").textContent = badgeText(p.label);
    const name = el.querySelector(".name");
    name.textContent = p.name;
    name.title = p.folder + "/" + p.name;
    el.querySelector(".meta").textContent = [scoreText(p), p.pending ? "saving…" : ""]
      .filter(Boolean).join(" · ");
    const reasons = el.querySelector(".reasons");
    reasons.textContent = reasonsText(p);
    reasons.hidden = !reasons.textContent;
    el.querySelector(".burst").textContent = burstText(p);
    if (p.burst) el.dataset.burst = p.id === p.kept ? "kept" : "member";
    else delete el.dataset.burst;
    const words = [p.name, labelWord(p.label) || "not labelled", scoreText(p), reasonsText(p),
      burstText(p)];
    el.setAttribute("aria-label", words.filter(Boolean).join(", "));
  }

  function columns() {
    const template = getComputedStyle(grid).gridTemplateColumns;
    return Math.max(1, template.split(" ").filter(Boolean).length);
  }

  function rowsPerScreen() {
    const tile = grid.firstElementChild;
    return tile ? Math.max(1, Math.floor(window.innerHeight / tile.offsetHeight) - 1) : 1;
  }

  function moveTo(index) {
    if (!order.length) return;
    cursor = Math.max(0, Math.min(order.length - 1, index));
    if (currentEl) {
      currentEl.classList.remove("current");
      currentEl.setAttribute("aria-selected", "false");
    }
    const p = photos.get(order[cursor]);
    currentEl = p.el;
    p.el.classList.add("current");
    p.el.setAttribute("aria-selected", "true");
    grid.setAttribute("aria-activedescendant", p.el.id);
    p.el.scrollIntoView({ block: "nearest" });
    if (!$("viewer").hidden) showLarge();
  }

  // --- listing ---------------------------------------------------------------------------

  function sorted(kind) {
    if (kind !== "uncertain" || view.threshold === null) return fileOrder.slice();
    const distance = (id) => {
      const score = photos.get(id).score;
      return score === null || score === undefined ? Infinity : Math.abs(score - view.threshold);
    };
    return together(fileOrder.slice().sort((a, b) => distance(a) - distance(b)));
  }

  // A burst stays together: its frames follow the first of them, in the server's order.
  function together(ids) {
    const bursts = new Map();
    for (const id of fileOrder) {
      const burst = photos.get(id).burst;
      if (burst) bursts.set(burst, (bursts.get(burst) || []).concat(id));
    }
    const placed = new Set();
    const result = [];
    for (const id of ids) {
      if (placed.has(id)) continue;
      const burst = photos.get(id).burst;
      for (const member of burst ? bursts.get(burst) : [id]) {
        placed.add(member);
        result.push(member);
      }
    }
    return result;
  }

  function applyOrder() {
    const current = order[cursor];
    order = sorted($("order").value);
    const fragment = document.createDocumentFragment();
    for (const id of order) fragment.append(photos.get(id).el);
    grid.append(fragment);
    const at = order.indexOf(current);
    moveTo(at < 0 ? 0 : at);
  }

  function merge(items) {
    const seen = new Set();
    const added = [];
    let regrouped = false; // a photo joined or left a burst: lay the grid out again
    for (const item of items) {
      seen.add(item.id);
      let p = photos.get(item.id);
      if (!p) {
        p = Object.assign({ el: null, pending: 0 }, item);
        photos.set(item.id, p);
        added.push(p);
      } else {
        const label = p.pending ? p.label : item.label;
        if (p.score !== item.score || p.label !== label || p.taken !== item.taken ||
            p.burst !== item.burst || p.burst_size !== item.burst_size ||
            p.kept_name !== item.kept_name || reasonsText(p) !== reasonsText(item)) {
          regrouped = regrouped || p.burst !== item.burst;
          Object.assign(p, item, { label });
          updateTile(p);
        }
      }
    }
    for (const [id, p] of photos) if (!seen.has(id)) { p.el.remove(); photos.delete(id); }
    fileOrder = items.map((item) => item.id);
    order = order.filter((id) => photos.has(id)).concat(added.map((p) => p.id));
    const fragment = document.createDocumentFragment();
    for (const p of added) {
      fragment.append(makeTile(p));
      updateTile(p);
    }
    grid.append(fragment);
    if (regrouped) applyOrder();
  }

  async function refresh() {
    const data = await api("/api/photos").catch((err) => {
      setStatus("Cannot load the photos: " + err.message, true);
    });
    if (!data) return;
    view = { mode: data.mode, threshold: data.threshold, model: data.model, session: data.session };
    setupMode(data);
    merge(data.photos);
    if (first && order.length) {
      first = false;
      const open = order.findIndex((id) => !photos.get(id).label);
      moveTo(view.mode === "label" && open >= 0 ? open : 0);
    } else if (order.length) {
      // Follow the current photo if it is still here; else stay at the same place.
      const at = currentEl ? order.indexOf(currentEl.id.slice(2)) : -1;
      if (at >= 0) cursor = at;
      else moveTo(Math.min(cursor, order.length - 1));
    }
    $("empty").hidden = order.length > 0 || data.indexing;
    progress = data;
    updateCounts();
    const busy = data.indexing || data.scoring === "running" || data.scoring === "starting";
    if (busy && !polling) {
      polling = true;
      setTimeout(() => { polling = false; refresh(); }, 1500);
    }
  }

  function setupMode(data) {
    const review = data.mode === "review";
    const title = review ? "Review the quarantine" : "Label photos";
    $("title").textContent = "photosieve · " + title;
    document.title = "photosieve · " + title;
    $("keep-word").textContent = review ? "keep: restore" : "keep";
    $("discard-word").textContent = review ? "discard: stays" : "discard";
    $("apply").hidden = !review || data.dry_run_only;
    $("apply").disabled = data.indexing; // apply to the whole quarantine, not the part found
    $("preview").hidden = !review;
    const uncertain = $("order").querySelector('option[value="uncertain"]');
    uncertain.disabled = data.threshold === null || !data.photos.some((p) => p.score !== null);
  }

  function countLabel(label) {
    let n = 0;
    for (const p of photos.values()) if (p.label === label) n += 1;
    return n;
  }

  function updateCounts() {
    const data = progress;
    const [keep, discard, total] = [countLabel("keep"), countLabel("discard"), photos.size];
    const text = view.mode === "review"
      ? `${total} in quarantine · ${keep} to restore · ${discard} stay`
      : `${keep + discard} of ${total} labelled · ${keep} keep · ${discard} discard · ` +
        `${view.session} this session`;
    $("counts").textContent = text;
    const facts = [];
    if (data.indexing) facts.push("finding photos…");
    if (data.scoring === "running") facts.push("scoring…");
    if (data.model) {
      const certified = data.certified ? `, ${data.certified}` : "";
      facts.push(`model ${data.model}, threshold ${data.threshold.toFixed(2)}${certified}`);
    }
    else if (data.scoring === "none") facts.push("no model yet, so no scores");
    if (data.dry_run_only) facts.push("dry run: Apply only previews");
    $("progress").textContent = facts.join(" · ");
  }

  // --- marking ---------------------------------------------------------------------------

  function mark(label) {
    const id = order[cursor];
    if (!id) return;
    const p = photos.get(id);
    const before = p.label;
    Object.assign(p, { label, pending: p.pending + 1 });
    updateTile(p);
    enqueue(() => api("/api/label", { id, label }))
      .then((reply) => { view.session = reply.session; setStatus(""); })
      .catch((err) => {
        p.label = before;
        setStatus("Not saved: " + err.message, true);
      })
      .finally(() => { p.pending -= 1; updateTile(p); updateCounts(); });
    updateCounts();
    if (cursor < order.length - 1) moveTo(cursor + 1);
    else if (!$("viewer").hidden) showLarge();
  }

  function undo() {
    enqueue(() => api("/api/undo", {}))
      .then((reply) => {
        view.session = reply.session;
        if (!reply.id) { setStatus("Nothing to undo."); return; }
        const p = photos.get(reply.id);
        if (p) {
          p.label = reply.label;
          updateTile(p);
          moveTo(order.indexOf(reply.id));
        }
        setStatus("Undone: " + (p ? p.name : "a photo") + ".");
        updateCounts();
      })
      .catch((err) => setStatus("Undo failed: " + err.message, true));
  }

  // --- large view ------------------------------------------------------------------------

  function showLarge() {
    const p = photos.get(order[cursor]);
    if (!p) return;
    const img = $("viewer-img");
    img.src = "/photo/" + p.id + query;
    img.alt = p.name;
    $("viewer-name").textContent = p.name;
    $("viewer-date").textContent = dateText(p.taken);
    $("viewer-score").textContent = [scoreText(p), reasonsText(p), burstText(p)]
      .filter(Boolean).join(" · ");
    const badge = $("viewer-label");
    badge.textContent = badgeText(p.label) || "Not labelled";
    badge.dataset.label = p.label || "none";
    const next = order[cursor + 1];
    if (next) new Image().src = "/photo/" + next + query; // the next one is usually wanted
  }

  function openViewer() {
    if (!order.length) return;
    $("viewer").hidden = false;
    showLarge();
  }

  function closeViewer() { $("viewer").hidden = true; grid.focus(); }

  // --- review ----------------------------------------------------------------------------

  async function apply(dryRun) {
    const keep = countLabel("keep");
    const stay = photos.size - keep;
    const question = `Restore ${keep} photo(s) to the library and label ${stay} discard ` +
      "(they stay in the quarantine until retention)?";
    if (!dryRun && !window.confirm(question)) return;
    setStatus(dryRun ? "Planning…" : "Applying…");
    try {
      const reply = await enqueue(() => api("/api/apply", { dry_run: dryRun }));
      showResults(reply);
      setStatus("");
      if (!reply.dry_run) await refresh();
    } catch (err) {
      setStatus("Apply failed: " + err.message, true);
    }
  }

  function showResults(reply) {
    const results = reply.results;
    const count = (status) => results.filter((r) => r.status === status).length;
    const restored = reply.dry_run ? count("planned") : count("restored");
    const verb = reply.dry_run ? "Would restore" : "Restored";
    $("results-title").textContent = reply.dry_run ? "Preview (nothing was moved)" : "Applied";
    $("results-summary").textContent =
      `${verb} ${restored}; ${count("duplicate")} already in the library; ` +
      `${count("stays")} ${reply.dry_run ? "would stay" : "stay"} (discard); ` +
      `${count("failed")} failed.`;
    const list = $("results-list");
    list.replaceChildren();
    for (const r of results.filter((item) => item.label === "keep")) {
      const li = document.createElement("li");
      li.textContent = r.status === "failed"
        ? `${r.name}: not restored: ${r.reason}`
        : `${r.name} → ${r.target}` + (r.status === "duplicate" ? " (already there)" : "");
      list.append(li);
    }
    $("results").hidden = false;
    $("results-close").focus();
  }

  function closeResults() { $("results").hidden = true; grid.focus(); }

  // --- keys ------------------------------------------------------------------------------

  const KEYS = {
    ArrowRight: () => moveTo(cursor + 1),
    ArrowLeft: () => moveTo(cursor - 1),
    ArrowDown: () => moveTo(cursor + ($("viewer").hidden ? columns() : 1)),
    ArrowUp: () => moveTo(cursor - ($("viewer").hidden ? columns() : 1)),
    PageDown: () => moveTo(cursor + columns() * rowsPerScreen()),
    PageUp: () => moveTo(cursor - columns() * rowsPerScreen()),
    Home: () => moveTo(0),
    End: () => moveTo(order.length - 1),
    k: () => mark("keep"),
    d: () => mark("discard"),
    u: undo,
    " ": () => ($("viewer").hidden ? openViewer() : closeViewer()),
    Enter: () => ($("viewer").hidden ? openViewer() : closeViewer()),
    Escape: () => { if (!$("viewer").hidden) closeViewer(); },
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (!$("results").hidden) {
      if (event.key === "Escape") closeResults();
      return;
    }
    const target = event.target;
    if (target instanceof HTMLSelectElement || target instanceof HTMLInputElement) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (target instanceof HTMLButtonElement && (key === " " || key === "Enter")) return;
    const action = KEYS[key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  const bar = document.querySelector(".bar");
  new ResizeObserver(() => document.documentElement.style
    .setProperty("--bar-height", bar.offsetHeight + "px")).observe(bar);
  $("order").addEventListener("change", () => { applyOrder(); grid.focus(); });
  $("undo").addEventListener("click", undo);
  $("apply").addEventListener("click", () => apply(false));
  $("preview").addEventListener("click", () => apply(true));
  $("results-close").addEventListener("click", closeResults);
  $("viewer").addEventListener("click", closeViewer);
  refresh().then(() => grid.focus());
})();
