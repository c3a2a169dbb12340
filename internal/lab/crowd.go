package lab

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"time"

	"github.com/streamdoctor/streamdoctor/internal/outage/server"
	"github.com/streamdoctor/streamdoctor/internal/profile"
)

// addrCrowd is the crowd outage service's address in the lab's world: a
// host on the internet like any other, so a network that reaches nothing
// beyond the router does not reach it either.
const addrCrowd = "198.51.100.90"

// startCrowd runs a real outage server (SQLite in the world's folder) with
// the history network.crowd calls for: "normal", a day of ordinary reports;
// "outage", a burst of reports from many viewers in the last minutes.
func (w *World) startCrowd() error {
	mode := w.Scenario.Network.Crowd
	if mode == "none" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := server.Open(ctx, "sqlite:"+filepath.Join(w.Home, "crowd", "outage.db"))
	if err != nil {
		return err
	}
	w.closers = append(w.closers, func() { store.Close() })
	if err := SeedCrowd(ctx, store, w.Profile.Name, w.Scenario.Code, mode, time.Now()); err != nil {
		return err
	}
	srv := server.NewServer(server.Config{Store: store, Services: profile.Names(), PerAddress: 1000})
	srv.Start()
	l, err := w.listen("tcp")
	if err != nil {
		srv.Close()
		return err
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(sctx, l) }()
	w.closers = append(w.closers, func() { stop(); <-done; srv.Close() })
	w.route(addrCrowd, "80", "tcp", l.Addr().String())
	return nil
}

// SeedCrowd gives a crowd store the history network.crowd calls for, as of
// now: "normal", a day and an hour of the usual trickle (one viewer every
// five minutes, from DE); "outage", that and sixty viewers over the last
// ten minutes. The real-daemon rig seeds its server the same way.
func SeedCrowd(ctx context.Context, store *server.Store, service, code, mode string, now time.Time) error {
	key, err := store.DayKey(ctx, now.Unix()/86400)
	if err != nil {
		return err
	}
	var entries []server.Entry
	add := func(client string, at time.Time) {
		entries = append(entries, server.Entry{Service: service, Region: "DE", Code: code,
			ClientHash: server.HashClient(key, service, client), Bucket: at.Unix() / server.BucketSeconds})
	}
	for i := 1; i <= 25*12; i++ {
		add(fmt.Sprintf("usual-viewer-%04d", i), now.Add(-time.Duration(i)*server.BucketSeconds*time.Second))
	}
	if mode == "outage" {
		for i := range 60 {
			add(fmt.Sprintf("outage-viewer-%04d", i), now.Add(-time.Duration(i*10)*time.Second))
		}
	}
	_, err = store.Add(ctx, entries)
	return err
}

// crowdURL is the world's crowd server (nil when the world has none).
func (w *World) crowdURL() *url.URL {
	if w.Scenario.Network.Crowd == "none" {
		return nil
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(addrCrowd, "80")}
}
