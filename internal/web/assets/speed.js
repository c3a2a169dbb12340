"use strict";
// The speed page shows the server's full speed test as it runs: live
// figures, then SD / HD / 4K in plain words.
(function () {
  const $ = (id) => document.getElementById(id);
  const dirWords = {download: "Downloading…", upload: "Uploading…"};
  let announced = "";

  async function start() {
    $("start").disabled = true;
    $("error").textContent = "";
    $("result").hidden = true;
    $("live").hidden = false;
    $("mbps").textContent = "0.0";
    $("dir").textContent = "Starting…";
    const res = await fetch("/api/speed", {method: "POST"});
    if (!res.ok) { $("error").textContent = await res.text(); $("start").disabled = false; return; }
    const {id} = await res.json();
    const es = new EventSource("/api/events?id=" + id);
    es.addEventListener("sample", (e) => {
      const s = JSON.parse(e.data);
      $("mbps").textContent = s.mbps.toFixed(1);
      const words = dirWords[s.direction] || "";
      if (words !== announced) { $("dir").textContent = words; announced = words; } // announce the phase, not every figure
    });
    es.addEventListener("result", (e) => show(JSON.parse(e.data)));
    es.addEventListener("failed", (e) => { $("error").textContent = JSON.parse(e.data).error; $("live").hidden = true; });
    es.addEventListener("end", () => { es.close(); $("start").disabled = false; $("start").textContent = "Test again"; });
  }

  function show(v) {
    $("mbps").textContent = v.Down.toFixed(1);
    $("dir").textContent = "Done in " + v.Seconds + ".";
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
    let f = "Download " + v.Down.toFixed(1) + " Mbps";
    if (v.Up > 0) f += ", upload " + v.Up.toFixed(1) + " Mbps";
    const ms = (x) => (x < 1 ? "under 1 ms" : Math.round(x) + " ms");
    if (v.LoadedMS > 0) f += "; delay " + ms(v.IdleMS) + " when idle, " + ms(v.LoadedMS) + " while busy";
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
