"use strict";
// The speed page shows the server's full speed test as it runs: live
// figures, then SD / HD / 4K in plain words.
(function () {
  const $ = (id) => document.getElementById(id);
  // The page's messages in the viewer's language (as on the check page).
  const M = JSON.parse($("msgs").textContent || "{}");
  const LANG = document.documentElement.lang || "en";
  function t(id, v) {
    const s = (M[id] && M[id].other) || id;
    return s.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, k) => (v && k in v ? String(v[k]) : ""));
  }
  const num = (x) => x.toLocaleString(LANG, {minimumFractionDigits: 1, maximumFractionDigits: 1});
  const dirWords = {download: t("speedpage.downloading"), upload: t("speedpage.uploading")};
  let announced = "";

  async function start() {
    $("start").disabled = true;
    $("error").textContent = "";
    $("result").hidden = true;
    $("live").hidden = false;
    $("mbps").textContent = num(0);
    $("dir").textContent = t("speedpage.starting");
    const res = await fetch("/api/speed", {method: "POST"});
    if (!res.ok) { $("error").textContent = await res.text(); $("start").disabled = false; return; }
    const {id} = await res.json();
    const es = new EventSource("/api/events?id=" + id);
    es.addEventListener("sample", (e) => {
      const s = JSON.parse(e.data);
      $("mbps").textContent = num(s.mbps);
      const words = dirWords[s.direction] || "";
      if (words !== announced) { $("dir").textContent = words; announced = words; } // announce the phase, not every figure
    });
    es.addEventListener("result", (e) => show(JSON.parse(e.data)));
    es.addEventListener("failed", (e) => { $("error").textContent = JSON.parse(e.data).error; $("live").hidden = true; });
    es.addEventListener("end", () => { es.close(); $("start").disabled = false; $("start").textContent = t("speedpage.again"); });
  }

  function show(v) {
    $("mbps").textContent = num(v.Down);
    $("dir").textContent = t("speedpage.done", {Seconds: v.Seconds});
    $("verdict").textContent = v.Headline + ".";
    const ul = $("qualities");
    ul.textContent = "";
    v.Qualities.forEach((q) => {
      const li = document.createElement("li");
      li.className = q.verdict === "enough" ? "ok" : (q.verdict === "not_enough" ? "problem" : "waiting");
      const b = document.createElement("b");
      b.textContent = q.name + " (" + q.need + ")";
      const st = document.createElement("span");
      st.className = "state";
      st.textContent = q.plain;
      li.append(b, st);
      ul.append(li);
    });
    let f = t("speedpage.download", {Mbps: num(v.Down)});
    if (v.Up > 0) f += ", " + t("speedpage.upload", {Mbps: num(v.Up)});
    const ms = (x) => (x < 1 ? t("speedpage.under_1ms") : Math.round(x) + " ms");
    if (v.LoadedMS > 0) f += "; " + t("speedpage.delay", {Idle: ms(v.IdleMS), Busy: ms(v.LoadedMS)});
    $("figures").textContent = f + ".";
    $("result").hidden = false;
    $("headline").focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("start").addEventListener("click", start);
    const beat = () => fetch("/api/heartbeat", {method: "POST"}).catch(() => {});
    beat();
    setInterval(beat, 20000);
  });
})();
