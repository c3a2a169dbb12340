"use strict";
// The page only shows what the server's check measured and decided; it
// holds no diagnosis of its own.
(function () {
  const $ = (id) => document.getElementById(id);
  const answers = {};
  const words = {ok: "ok", problem: "problem", note: "worth knowing", not_run: "not checked", waiting: "checking…"};
  const layerNames = ["Link", "Router", "DNS", "Internet", "Service", "Browser", "Computer", "Speed"];
  const plain = {Link: "Connection", Router: "Router", DNS: "Name lookup", Internet: "Internet", Service: document.title.replace(/^StreamDoctor — why | does not play$/g, ""), Browser: "Your browser", Computer: "This computer", Speed: "Speed", Others: "Other viewers"};
  // What the check is for: the service and the code chosen on the page.
  const want = {service: "", code: ""};
  let lastLayers = [];

  function sureWords(p) {
    if (p >= 0.9) return "Very sure";
    if (p >= 0.7) return "Fairly sure";
    if (p >= 0.5) return "More likely than not";
    return "Not sure — a best guess";
  }

  function showLayers(list, final) {
    lastLayers = list;
    const ul = $("layers");
    ul.textContent = "";
    const byName = {};
    // Lines come from the check's events (Name, Status, Plain) or, at the
    // end, from the report (name, status, plain, worth_knowing).
    list = list.map((l) => ({Name: l.Name || l.name, Status: l.worth_knowing ? "note" : (l.Status || l.status), Plain: l.Plain || l.plain || ""}));
    list.forEach((l) => { byName[l.Name] = l; });
    layerNames.concat(list.map((l) => l.Name).filter((n) => !layerNames.includes(n))).forEach((n) => {
      const l = byName[n] || {Name: n, Status: final ? "not_run" : "waiting"};
      const li = document.createElement("li");
      li.className = l.Status;
      const b = document.createElement("b");
      b.textContent = plain[n] || n;
      const st = document.createElement("span");
      st.className = "state";
      st.textContent = words[l.Status] || l.Status;
      li.append(b, st);
      if (l.Plain && l.Status !== "waiting") {
        const p = document.createElement("span");
        p.className = "plain";
        p.textContent = l.Plain;
        li.append(p);
      }
      ul.append(li);
    });
  }

  // A step's lines for a viewer: a line that names a terminal command
  // keeps its words before the command ("Disconnect in your VPN app"), and
  // the command itself goes under "For help desks".
  function viewerLines(lines) {
    const plainLines = [], cmds = [];
    (lines || []).forEach((t) => {
      if (!t.includes("`")) { plainLines.push(t); return; }
      cmds.push(t.replace(/`/g, ""));
      const before = t.split(/,? (?:or )?(?:run|type|open a terminal[^`]*)\s*`|`/i)[0].replace(/[,;:\s]+(or|and)?\s*$/i, "").trim();
      if (before.length >= 12 && !/terminal/i.test(before)) plainLines.push(before.replace(/[.]?$/, "."));
    });
    return {plainLines, cmds};
  }

  function stepItem(s, first) {
    const li = document.createElement("li");
    const h = document.createElement("strong");
    h.textContent = s.title;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = "About " + Math.round(s.minutes) + " min · " + Math.round(s.p_success * 100) + " % likely to fix it";
    const ul = document.createElement("ul");
    const {plainLines, cmds} = viewerLines(s.steps);
    plainLines.forEach((t) => { const x = document.createElement("li"); x.textContent = t; ul.append(x); });
    if (!plainLines.length) {
      const x = document.createElement("li");
      x.textContent = s.automated ? "StreamDoctor can do this for you: use “Fix it, one step at a time” below." : "Ask someone who looks after this computer, and show them the details below.";
      ul.append(x);
    }
    li.append(h, meta, ul);
    if (cmds.length) {
      const d = document.createElement("details");
      d.className = "cmds";
      const sm = document.createElement("summary");
      sm.textContent = "For help desks: the commands";
      const pre = document.createElement("pre");
      pre.textContent = cmds.join("\n");
      d.append(sm, pre);
      li.append(d);
    }
    return li;
  }

  function showResult(r) {
    showLayers(r.layers || lastLayers, true);
    $("layers-title").hidden = false;
    const healthy = r.verdict.top_cause === "none";
    $("headline").textContent = healthy ? "No problem found" : "Found it";
    $("progress").textContent = "Checked in " + (r.duration_ms / 1000).toFixed(1) + " s.";
    // The confidence is said once, in words and number, on its own line.
    $("summary").textContent = r.verdict.summary.replace(/ \((?:[<>]?\d+ %)(?: sure)?\)/, "").replace(/^No problem found: /, "");
    // The code's meaning was read while checking; now its title is enough.
    $("meaning-text").hidden = true;
    $("sure").textContent = sureWords(r.verdict.confidence) + " (" + Math.round(r.verdict.confidence * 100) + "\u00a0%).";
    $("healthy-next").hidden = !healthy;
    if (healthy) $("healthy-next").textContent = "Reload the page or app where the error appeared: errors like this often pass by themselves. If it comes back, check again while it is showing.";
    const because = $("because");
    because.textContent = "";
    (r.because || []).forEach((b) => { const li = document.createElement("li"); li.textContent = b; because.append(li); });
    $("because-box").hidden = !(r.because || []).length; // nothing to say under it on a healthy line
    $("verdict").hidden = false;
    if (r.question) {
      $("ask").textContent = r.question.ask;
      $("question").hidden = false;
      $("question").dataset.id = r.question.id;
    } else {
      $("question").hidden = true;
    }
    // The first step, "Fix it" right under it, the next two, the rest
    // behind "More steps".
    const plan = r.plan || [];
    $("steps").textContent = "";
    $("next-steps").textContent = "";
    $("more-steps").textContent = "";
    plan.forEach((s, i) => {
      const into = i === 0 ? $("steps") : (i < 3 ? $("next-steps") : $("more-steps"));
      into.append(stepItem(s, i === 0));
    });
    $("plan").hidden = !plan.length;
    $("guide").hidden = !plan.length;
    $("next").hidden = plan.length < 2;
    $("more").hidden = plan.length < 4;
    const tb = $("details").querySelector("tbody");
    tb.textContent = "";
    r.observations.forEach((o) => {
      const tr = document.createElement("tr");
      [o.probe, o.target, o.status + (o.failure ? " (" + o.failure + ")" : ""), o.detail].forEach((v) => {
        const td = document.createElement("td"); td.textContent = v || ""; tr.append(td);
      });
      tb.append(tr);
    });
    $("save").hidden = false;
    $("headline").focus();
  }

  // The browser's own requests: small public files of the service's hosts,
  // timed from inside this browser (no-cors: any answer means reached), so
  // that what the browser adds to the path (add-ons, its own proxy or
  // secure-DNS setting) is measured too. Each result goes to the check.
  async function timeInBrowser(id, url, limitMS) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), limitMS);
    const t0 = performance.now();
    const r = {url: url, ok: false, ms: 0};
    try {
      await fetch(url, {mode: "no-cors", cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer", signal: ctl.signal});
      r.ok = true;
    } catch (_) {
      r.error = ctl.signal.aborted ? "timeout" : "network";
    }
    clearTimeout(timer);
    r.ms = performance.now() - t0;
    const e = r.ok && performance.getEntriesByName(url).pop(); // Resource Timing, where the browser gives it
    if (e && e.duration > 0) r.ms = e.duration;
    r.ms = Math.round(r.ms * 10) / 10;
    fetch("/api/browser?id=" + id, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(r)}).catch(() => {});
  }

  async function runCheck() {
    $("headline").textContent = "Checking…";
    showLayers([]);
    const res = await fetch("/api/check", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({answers, service: want.service, code: want.code})});
    if (!res.ok) { $("progress").textContent = "The check could not start: " + (await res.text()); return; }
    const {id, browser, browser_timeout_ms: limit} = await res.json();
    (browser || []).forEach((u) => timeInBrowser(id, u, limit));
    ["save-html", "save-md", "save-json"].forEach((a, i) => { $(a).href = "/api/report?id=" + id + "&format=" + ["html", "md", "json"][i]; });
    const es = new EventSource("/api/events?id=" + id);
    es.addEventListener("layers", (e) => showLayers(JSON.parse(e.data)));
    es.addEventListener("browser", (e) => timeInBrowser(id, JSON.parse(e.data).url, limit));
    es.addEventListener("result", (e) => { window.lastReport = JSON.parse(e.data); showResult(window.lastReport); });
    es.addEventListener("failed", (e) => { $("headline").textContent = "The check could not run"; $("progress").textContent = JSON.parse(e.data).error; });
    es.addEventListener("end", () => es.close());
    // Refused (too many StreamDoctor tabs follow checks at once): say so.
    es.addEventListener("error", () => { if (es.readyState === EventSource.CLOSED) $("progress").textContent = "StreamDoctor is open in too many tabs to follow this check. Close the others and reload this one."; });
  }

  // "Which error?": the service's codes as suggestions while typing.
  async function fillCodes(service) {
    const list = $("code-list");
    list.textContent = "";
    try {
      const res = await fetch("/api/codes?service=" + encodeURIComponent(service));
      if (!res.ok) return;
      (await res.json()).forEach((c) => {
        const o = document.createElement("option");
        o.value = c.code;
        o.label = c.title;
        list.append(o);
      });
    } catch (_) { /* suggestions are a help, not a need */ }
  }

  // The code's meaning comes first. A code that is not the network's ends
  // in its one step; the check is offered, not forced. It returns whether
  // the check should run now.
  async function explainCode(service, code) {
    $("meaning").hidden = true;
    $("meaning-text").hidden = false;
    if (!code) return true;
    let v = null;
    try {
      const res = await fetch("/api/codes?service=" + encodeURIComponent(service) + "&code=" + encodeURIComponent(code));
      if (res.ok) v = await res.json();
    } catch (_) { return true; }
    if (!v) return true;
    $("meaning-step").hidden = true;
    $("meaning-anyway").hidden = true;
    if (!v.found) {
      $("meaning-title").textContent = code + ": not in our list yet";
      $("meaning-text").textContent = "We check your connection without it." + (v.nearest && v.nearest.length ? " Did you mean " + v.nearest.join(", ") + "?" : "");
      $("meaning").hidden = false;
      return true;
    }
    const c = v.code;
    $("meaning-title").textContent = c.code + ": " + c.title;
    $("meaning-text").textContent = (c.network ? "" : "Not your network: ") + c.meaning + (c.note ? " " + c.note : "");
    $("meaning").hidden = false;
    if (c.network) return true;
    $("meaning-step-text").textContent = c.step;
    $("meaning-step").hidden = false;
    $("meaning-anyway").hidden = false;
    return false;
  }

  function chosen() {
    want.service = $("service").value;
    want.code = $("code").value.trim();
    plain.Service = $("service").selectedOptions[0] ? $("service").selectedOptions[0].textContent : plain.Service;
  }

  function hideResult() {
    ["verdict", "question", "plan", "guide", "next", "save", "layers-title"].forEach((id) => { $(id).hidden = true; });
  }

  async function checkChosen(force) {
    chosen();
    Object.keys(answers).forEach((k) => { delete answers[k]; }); // a new question, new answers
    hideResult();
    const run = await explainCode(want.service, want.code);
    if (run || force) {
      runCheck();
    } else {
      $("headline").textContent = "Not a network problem";
      $("progress").textContent = "";
      $("layers").textContent = "";
      $("meaning-title").focus();
    }
  }

  function answer(v) {
    const id = $("question").dataset.id;
    if (!id) return;
    answers[id] = v;
    $("question").hidden = true;
    runCheck();
  }

  // Guided fixes: the server's state machine says what it awaits; the
  // page shows that and posts the answer.
  async function post(path, body) {
    const res = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {})});
    if (!res.ok) throw new Error(await res.text());
    return res.json();
  }

  let waitTimer = null;
  let turn = 0; // the shown step's turn: an answer names it (the server refuses a stale one)
  function showStep(v) {
    turn = v.turn;
    $("guide-note").textContent = v.note || "";
    const st = $("guide-step");
    ["guide-consent", "guide-byhand", "guide-wait", "guide-verdict"].forEach((id) => { $(id).hidden = true; });
    if (v.finished) { st.hidden = true; $("guide-note").textContent = "Good. Enjoy the show."; loadChanges(); return; }
    if (v.await === "stuck") { st.hidden = true; $("guide-note").textContent = "Nothing more can be tried from here. Contact the service's support or your internet provider, and share the report."; return; }
    if (!v.step) { st.hidden = true; return; }
    st.hidden = false;
    $("guide-what").textContent = "Step " + v.step.number + ": " + v.step.title;
    $("guide-meta").textContent = "About " + Math.round(v.step.minutes) + " min · " + Math.round(v.step.p_success * 100) + " % likely to fix it";
    if (v.await === "consent") {
      const ul = $("guide-changes"); ul.textContent = "";
      (v.changes || []).forEach((c) => { const li = document.createElement("li"); li.textContent = c; ul.append(li); });
      $("guide-commands").textContent = (v.commands || []).map((c) => (v.prompt || "$") + " " + c).join("\n");
      $("guide-commands").hidden = !(v.commands && v.commands.length);
      $("guide-consent").hidden = false;
      $("guide-yes").focus();
    } else if (v.await === "done" || v.await === "plugged" || v.await === "restart") {
      const ol = $("guide-lines"); ol.textContent = "";
      (v.step.lines || []).forEach((c) => { const li = document.createElement("li"); li.textContent = c; ol.append(li); });
      $("guide-done").textContent = v.await === "plugged" ? "The router is plugged back in" : (v.await === "restart" ? "I have restarted" : "Done");
      $("guide-done").dataset.answer = v.await === "plugged" ? "plugged" : (v.await === "restart" ? "back" : "done");
      $("guide-byhand").hidden = false;
      if (v.await === "restart") $("guide-note").textContent = "After the restart, open StreamDoctor again: this step will be waiting.";
    } else if (v.await === "network") {
      $("guide-wait").hidden = false;
      const until = Date.now() + 5 * 60 * 1000;
      clearInterval(waitTimer);
      const tick = async () => {
        const left = Math.max(0, until - Date.now());
        $("guide-countdown").textContent = "Waiting for the network to come back… " + Math.floor(left / 60000) + ":" + String(Math.floor(left / 1000) % 60).padStart(2, "0") + " left";
        try {
          const r = await post("/api/fix/network");
          if (r.back) { clearInterval(waitTimer); showStep(await post("/api/fix/answer", {answer: "back", turn: turn})); return; }
        } catch (_) { /* the network is still coming back */ }
        if (left === 0) { clearInterval(waitTimer); showStep(await post("/api/fix/answer", {answer: "gave_up", turn: turn})); }
      };
      waitTimer = setInterval(tick, 3000);
      tick();
    } else if (v.await === "verdict") {
      $("guide-verdict").hidden = false;
      $("guide-plays").focus();
    }
    loadChanges();
  }

  // While an answer is on its way the step's buttons are off, so a second
  // click cannot answer the question that follows.
  async function answerStep(a) {
    const buttons = document.querySelectorAll("#guide-step button");
    buttons.forEach((b) => { b.disabled = true; });
    let v = null;
    try { v = await post("/api/fix/answer", {answer: a, turn: turn}); }
    catch (e) { $("guide-note").textContent = e.message; }
    buttons.forEach((b) => { b.disabled = false; }); // before showStep moves the focus
    if (v && a === "stop") {
      // Not now: the step is saved; the button picks it up again.
      $("guide-step").hidden = true;
      $("guide-note").textContent = "Saved for later. When you can, choose “Continue” and this step will be waiting.";
      $("guide-start").textContent = "Continue";
      $("guide-start").dataset.resume = "1";
      $("guide-start").hidden = false;
      $("guide-start").focus();
      return;
    }
    if (v) showStep(v);
  }

  async function loadChanges() {
    const res = await fetch("/api/changes");
    if (!res.ok) return;
    const list = await res.json();
    const ul = $("changes-list"); ul.textContent = "";
    list.forEach((c) => {
      const li = document.createElement("li");
      li.textContent = c.Time + " — " + (c.Damaged ? "a damaged record: " + c.Damaged : (c.Changes || []).join("; ") + " (" + c.State + ")") + " ";
      if (c.CanUndo) {
        const b = document.createElement("button");
        b.type = "button"; b.className = "alt"; b.textContent = "Undo";
        b.addEventListener("click", async () => {
          try { const r = await post("/api/undo", {id: c.ID}); $("guide-note").textContent = r.note; }
          catch (e) { $("guide-note").textContent = e.message; }
          loadChanges();
        });
        li.append(b);
      }
      ul.append(li);
    });
    $("changes").hidden = list.length === 0;
  }

  async function startGuide(resume) {
    $("resume").hidden = true;
    $("guide-start").hidden = true;
    $("guide").hidden = false;
    try { showStep(await post("/api/fix/step", resume ? {resume: true} : {})); } catch (e) { $("guide-note").textContent = e.message; }
  }

  // A guided fix saved by an earlier launch (before a restart) is offered,
  // never resumed unasked.
  async function offerSaved() {
    const res = await fetch("/api/fix/saved");
    if (!res.ok) return;
    const {saved} = await res.json();
    if (!saved) return;
    $("resume-what").textContent = saved.title ? "You were at step " + saved.number + ": " + saved.title + "." : "You had started fixing it, one step at a time.";
    $("resume").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("guide-start").addEventListener("click", () => startGuide($("guide-start").dataset.resume === "1"));
    document.querySelectorAll("#guide-step .later").forEach((b) => b.addEventListener("click", () => answerStep("stop")));
    $("resume-yes").addEventListener("click", () => startGuide(true));
    $("resume-no").addEventListener("click", () => { $("resume").hidden = true; });
    offerSaved();
    $("guide-yes").addEventListener("click", () => answerStep("yes"));
    $("guide-no").addEventListener("click", () => answerStep("no"));
    $("guide-done").addEventListener("click", () => answerStep($("guide-done").dataset.answer || "done"));
    $("guide-plays").addEventListener("click", () => answerStep("yes"));
    $("guide-fails").addEventListener("click", () => answerStep("no"));
    loadChanges();
    $("yes").addEventListener("click", () => answer("yes"));
    $("no").addEventListener("click", () => answer("no"));
    $("copy").addEventListener("click", async () => {
      const r = window.lastReport;
      if (!r) return;
      const text = "StreamDoctor: " + r.verdict.summary + "\n" + (r.because || []).map((b) => "- " + b).join("\n");
      try { await navigator.clipboard.writeText(text); $("copied").textContent = "Copied."; }
      catch (_) { $("copied").textContent = text; }
    });
    const beat = () => fetch("/api/heartbeat", {method: "POST"}).catch(() => {});
    beat();
    setInterval(beat, 20000);
    $("which").addEventListener("submit", (e) => { e.preventDefault(); checkChosen(false); });
    $("service").addEventListener("change", () => fillCodes($("service").value));
    $("check-anyway").addEventListener("click", () => { $("meaning-anyway").hidden = true; runCheck(); });
    fillCodes($("service").value);
    checkChosen(false);
  });
})();
