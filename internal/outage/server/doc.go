// Package server is the crowd outage service (`streamdoctor outage
// serve`): it takes anonymous reports, stores counts per service, country and
// five minutes (SQLite, or PostgreSQL for several instances), and answers
// "is it down?" by testing the last minutes' counts against the baseline of
// that hour of the week. docs/crowd.md says what it stores and how it decides.
package server
