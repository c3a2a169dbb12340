// Package web is the viewer's face of StreamDoctor: a page served on
// loopback that runs the same check as the terminal (check.Run), shows the
// layers turning ok or problem as the probes finish (server-sent events),
// then the verdict in plain words, why, the questions worth answering and
// the plan. It holds no diagnosis logic of its own.
//
// Security follows the local servers people trust (Syncthing's Host check,
// Tailscale's web client): it listens on loopback only unless told
// otherwise; the opening URL carries a random per-launch secret that is
// exchanged for an HttpOnly, SameSite=Strict cookie required on every
// other request; the Host header must name the loopback address it serves
// (against DNS rebinding); every state-changing request is a POST that
// passes net/http's CrossOriginProtection; the page has a strict Content
// Security Policy; bodies are size-limited and the server has timeouts.
// The process ends by itself when no page has sent a heartbeat for
// IdleExit (two minutes: background tabs are throttled to a timer a
// minute).
package web
