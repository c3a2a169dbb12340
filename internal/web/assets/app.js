"use strict";
// The page only shows what the server's check measured and decided; it
// holds no diagnosis of its own.
(function () {
  const $ = (id) => document.getElementById(id);
  // The page's messages, in the viewer's language, from the server: t()
  // fills their {{.Fields}} and picks a plural form by the language's rules.
  const M = JSON.parse($("msgs").textContent || "{}");
  const LANG = document.documentElement.lang || "en";
  const plural = new Intl.PluralRules(LANG);
  function t(id, v) {
    const m = M[id];
    if (!m) return id;
    const s = (v && typeof v.Count === "number" && m[plural.select(v.Count)]) || m.other || "";
    return s.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, k) => (v && k in v ? String(v[k]) : ""));
  }
  const num = (x, d) => x.toLocaleString(LANG, {minimumFractionDigits: d, maximumFractionDigits: d});
  const answers = {};
  const words = {ok: t("page.state.ok"), problem: t("page.state.problem"), note: t("page.state.note"), not_run: t("page.state.not_run"), waiting: t("page.state.waiting")};
  const layerNames = ["Link", "Router", "DNS", "Internet", "Service", "Browser", "Computer", "Speed"];
  const plain = {};
  ["Link", "Router", "DNS", "Internet", "Browser", "Computer", "Speed", "Others"].forEach((n) => { plain[n] = t("layer." + n); });
  plain.Service = document.body.dataset.serviceTitle;
  // What the check is for: the service and the code chosen on the page.
  const want = {service: "", code: ""};
  let lastLayers = [];

  function sureWords(p) {
    if (p >= 0.9) return t("page.sure.very");
    if (p >= 0.7) return t("page.sure.fairly");
    if (p >= 0.5) return t("page.sure.likely");
    return t("page.sure.guess");
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
  // keeps its plain words before it ("Turn the VPN off in its app"), and the
  // command goes under "For help desks". The words that lead into a
  // command ("or run", "help desks:") are the language's own (page.step.lead).
  const lead = new RegExp("(?:[,;:(\\s]|\\b(?:" + t("page.step.lead") + ")\\b)*$", "i");
  // A line that only leads into its command ("Type this and press
  // Enter: `…`") needs it, and is shown whole.
  function viewerLines(lines) {
    const plainLines = [], cmds = [];
    (lines || []).forEach((line) => {
      if (!line.includes("`")) { plainLines.push(line); return; }
      (line.match(/`[^`]+`/g) || []).forEach((c) => cmds.push(c.slice(1, -1)));
      const head = line.split("`")[0];
      // "… (help desks: unset `X`)": the plain words end where the
      // unclosed parenthesis opens.
      const open = head.lastIndexOf("(");
      if (open >= 0 && head.indexOf(")", open) < 0) {
        const before = head.slice(0, open).replace(lead, "").trim();
        if (before.length >= 12) plainLines.push(before.replace(/[.]?$/, "."));
        return;
      }
      if (/:\s*$/.test(head)) {
        plainLines.push(line.replace(/`/g, ""));
        return;
      }
      const before = head.replace(lead, "").trim();
      if (before.length >= 12) plainLines.push(before.replace(/[.]?$/, "."));
    });
    return {plainLines, cmds};
  }
  const metaText = (s) => t("page.step.meta", {Minutes: Math.round(s.minutes), Pct: Math.round(s.p_success * 100)});

  function stepItem(s, first) {
    const li = document.createElement("li");
    li.dataset.fix = s.fix;
    const h = document.createElement("strong");
    h.textContent = s.title;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.dataset.role = "meta";
    meta.textContent = metaText(s);
    const ul = document.createElement("ul");
    // A step StreamDoctor can do says so (its lines by hand come with "I
    // will do it myself"); the others show their plain lines.
    const {plainLines, cmds} = viewerLines(s.steps);
    if (!s.automated) plainLines.forEach((line) => { const x = document.createElement("li"); x.textContent = line; ul.append(x); });
    if (!plainLines.length || s.automated) {
      const x = document.createElement("li");
      x.textContent = s.automated ? t("page.step.automated") : t("page.step.ask_someone");
      ul.append(x);
    }
    li.append(h, meta, ul);
    if (cmds.length) {
      const d = document.createElement("details");
      d.className = "cmds";
      const sm = document.createElement("summary");
      sm.textContent = t("page.step.commands");
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
    $("headline").textContent = healthy ? t("page.result.none") : t("page.result.found");
    $("progress").textContent = t("page.result.checked_in", {Seconds: num(r.duration_ms / 1000, 1)});
    // The confidence is said once, in words and number, on its own line.
    $("summary").textContent = r.verdict.short || r.verdict.summary;
    // The code's meaning was read while checking; now its title is enough.
    $("meaning-text").hidden = true;
    $("sure").textContent = t("page.sure.line", {Words: sureWords(r.verdict.confidence), Pct: Math.round(r.verdict.confidence * 100)});
    $("healthy-next").hidden = !healthy;
    if (healthy) $("healthy-next").textContent = t("page.result.healthy_next");
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
    $("headline").textContent = t("page.checking");
    showLayers([]);
    const res = await fetch("/api/check", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({answers, service: want.service, code: want.code})});
    if (!res.ok) { $("progress").textContent = t("page.error.start", {Error: await res.text()}); return; }
    const {id, browser, browser_timeout_ms: limit} = await res.json();
    (browser || []).forEach((u) => timeInBrowser(id, u, limit));
    ["save-html", "save-md", "save-json"].forEach((a, i) => { $(a).href = "/api/report?id=" + id + "&format=" + ["html", "md", "json"][i]; });
    const es = new EventSource("/api/events?id=" + id);
    es.addEventListener("layers", (e) => showLayers(JSON.parse(e.data)));
    es.addEventListener("browser", (e) => timeInBrowser(id, JSON.parse(e.data).url, limit));
    es.addEventListener("result", (e) => { window.lastReport = JSON.parse(e.data); showResult(window.lastReport); });
    es.addEventListener("failed", (e) => { $("headline").textContent = t("page.error.run"); $("progress").textContent = JSON.parse(e.data).error; });
    es.addEventListener("end", () => es.close());
    // Refused (too many StreamDoctor tabs follow checks at once): say so.
    es.addEventListener("error", () => { if (es.readyState === EventSource.CLOSED) $("progress").textContent = t("page.error.tabs"); });
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
      $("meaning-title").textContent = t("page.meaning.unknown", {Code: code});
      $("meaning-text").textContent = t("page.meaning.without") + (v.nearest && v.nearest.length ? " " + t("page.meaning.did_you_mean", {Codes: v.nearest.join(", ")}) : "");
      $("meaning").hidden = false;
      return true;
    }
    const c = v.code;
    $("meaning-title").textContent = c.code + ": " + c.title;
    $("meaning-text").textContent = (c.network ? "" : t("page.meaning.not_network") + " ") + c.meaning + (c.note ? " " + c.note : "");
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
      $("headline").textContent = t("page.meaning.headline");
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
  let lastStep = null; // the step shown, for the note after putting it off
  function showStep(v) {
    turn = v.turn;
    lastStep = v.step || null;
    $("guide-note").textContent = v.note || "";
    const st = $("guide-step");
    ["guide-consent", "guide-byhand", "guide-wait", "guide-verdict"].forEach((id) => { $(id).hidden = true; });
    if (v.finished) { st.hidden = true; $("guide-note").textContent = t("page.guide.finished"); loadChanges(); return; }
    if (v.await === "stuck") { st.hidden = true; $("guide-note").textContent = t("page.guide.stuck"); return; }
    if (!v.step) { st.hidden = true; return; }
    st.hidden = false;
    markPlan(v);
    $("guide-what").textContent = t("page.guide.step", {Number: v.step.number, Title: v.step.title});
    $("guide-meta").textContent = metaText(v.step);
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
      $("guide-done").textContent = v.await === "plugged" ? t("page.guide.plugged") : (v.await === "restart" ? t("page.guide.restarted") : t("page.guide.done"));
      $("guide-done").dataset.answer = v.await === "plugged" ? "plugged" : (v.await === "restart" ? "back" : "done");
      $("guide-byhand").hidden = false;
      if (v.await === "restart") $("guide-note").textContent = t("page.guide.after_restart");
    } else if (v.await === "network") {
      $("guide-wait").hidden = false;
      const until = Date.now() + 5 * 60 * 1000;
      clearInterval(waitTimer);
      const tick = async () => {
        const left = Math.max(0, until - Date.now());
        $("guide-countdown").textContent = t("page.guide.waiting", {Left: Math.floor(left / 60000) + ":" + String(Math.floor(left / 1000) % 60).padStart(2, "0")});
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

  // One figure per step: as the guided fix goes on, the plan below says
  // which steps were tried and the current step's chance now.
  function markPlan(v) {
    document.querySelectorAll("li[data-fix]").forEach((li) => {
      const m = li.querySelector("[data-role=meta]");
      if ((v.tried || []).includes(li.dataset.fix)) {
        li.classList.add("tried");
        m.textContent = t("page.step.tried");
      } else if (v.step && li.dataset.fix === v.step.fix) {
        m.textContent = metaText(v.step);
      }
    });
  }

  // While an answer is on its way the step's buttons are off, so a second
  // click cannot answer the question that follows.
  async function answerStep(a) {
    const skipped = (lastStep && lastStep.title) || "";
    const buttons = document.querySelectorAll("#guide-step button");
    buttons.forEach((b) => { b.disabled = true; });
    let v = null;
    try { v = await post("/api/fix/answer", {answer: a, turn: turn}); }
    catch (e) { $("guide-note").textContent = e.message; }
    buttons.forEach((b) => { b.disabled = false; }); // before showStep moves the focus
    if (v) showStep(v);
    if (v && a === "skip" && v.step && v.step.title !== skipped) {
      // Not now: the next step is shown; the one put off comes back once
      // nothing else is left.
      $("guide-note").textContent = t("page.guide.skipped", {Title: skipped});
      if (!$("guide-step").hidden) $("guide-what").focus();
    }
  }

  async function loadChanges() {
    const res = await fetch("/api/changes");
    if (!res.ok) return;
    const list = await res.json();
    const ul = $("changes-list"); ul.textContent = "";
    list.forEach((c) => {
      const li = document.createElement("li");
      li.textContent = c.Time + " — " + (c.Damaged ? t("page.changes.damaged", {Record: c.Damaged}) : (c.Changes || []).join("; ") + " (" + t("page.changes.state." + c.State) + ")") + " ";
      if (c.CanUndo) {
        const b = document.createElement("button");
        b.type = "button"; b.className = "alt"; b.textContent = t("page.changes.undo");
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
    $("resume-what").textContent = saved.title ? t("page.resume.at", {Number: saved.number, Title: saved.title}) : t("page.resume.started");
    $("resume").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("guide-start").addEventListener("click", () => startGuide($("guide-start").dataset.resume === "1"));
    document.querySelectorAll("#guide-step .later").forEach((b) => b.addEventListener("click", () => answerStep("skip")));
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
      try { await navigator.clipboard.writeText(text); $("copied").textContent = t("page.save.copied"); }
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
