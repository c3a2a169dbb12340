// Package lab is the fault lab: it loads scenario files (DESIGN.md's format)
// and plays the outside world for one scenario with real servers on
// loopback — a DNS server (miekg/dns), HTTPS servers with certificates from
// lab CAs, a DNS-over-HTTPS endpoint, an HTTP proxy, a captive portal and the
// router — plus OS facts from the scenario through a fixture sysinfo.Source
// and browser profiles written as real SQLite files.
//
// The probes reach it through probe.Env: the lab's Dialer maps the world's
// addresses (documentation ranges, 8.8.8.8) to loopback ports and fails the
// way the kernel does where the scenario's world has no route. Nothing in the
// real check path imports this package. docs/scenarios.md documents every
// key; docs/lab.md how the world is built.
package lab
