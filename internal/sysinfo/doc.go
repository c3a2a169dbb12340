// Package sysinfo reads the facts about the local machine that a diagnosis
// needs and that no network probe can see: interfaces and the default route,
// DNS servers, proxy settings, VPN adapters, Wi-Fi signal, uptime, the local
// clock and installed browsers.
//
// Source is the seam: Live reads the real OS (complete on Linux; Windows and
// macOS report their facts as not run until they get readers of their own),
// Fixture returns facts given by a test or a lab scenario.
package sysinfo
