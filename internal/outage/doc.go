// Package outage is the crowd outage service's client and wire format: a
// check asks a server whether many viewers report the service failing (the
// one vantage point outside the viewer's network), and may tell it that this
// viewer still cannot watch. The server and its stores are in
// internal/outage/server; docs/crowd.md says what it stores and how it
// decides.
package outage
