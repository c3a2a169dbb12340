package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/outage/server"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/safe"
)

func newOutageCmd(ios *IO) *cobra.Command {
	c := &cobra.Command{
		Use:   "outage",
		Short: "The crowd outage service: is it down for everyone, or blocked on my side?",
	}
	c.AddCommand(newOutageServeCmd(ios))
	return c
}

func newOutageServeCmd(ios *IO) *cobra.Command {
	var listen, db string
	var perAddr float64
	var forDur time.Duration
	c := &cobra.Command{
		Use:   "serve",
		Short: "Take anonymous reports and answer \"is it down?\" (SQLite by default, PostgreSQL for many instances)",
		Example: "  streamdoctor outage serve\n" +
			"  streamdoctor outage serve --listen 0.0.0.0:8090 --db postgres://outage@db.internal/outage\n" +
			"  streamdoctor check --outage-server http://127.0.0.1:8090",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if perAddr < 0 {
				return usageErr("--per-address-rate %v: give reports per second, more than 0", perAddr)
			}
			if db == "" {
				dir, err := dataDir()
				if err != nil {
					return usageErr("no data folder for the database (%v); give --db sqlite:PATH", err)
				}
				db = "sqlite:" + filepath.Join(dir, "outage.db")
			}
			ctx := cmd.Context()
			octx, cancel := context.WithTimeout(ctx, 15*time.Second)
			store, err := server.Open(octx, db)
			cancel()
			if err != nil {
				if errors.Is(err, server.ErrUnavailable) {
					return &exitError{code: ExitFailed, msg: oneLineErr(err)}
				}
				return usageErr("%s", oneLineErr(err))
			}
			defer store.Close()
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return usageErr("--listen %s: %s", listen, oneLineErr(err))
			}
			srv := server.NewServer(server.Config{Store: store, Services: profile.Names(), PerAddress: perAddr,
				Log: log.New(ios.ErrOut, "outage: ", log.LstdFlags)})
			srv.Start()
			defer srv.Close()
			fmt.Fprintf(ios.Out, "Serving outage reports on http://%s/ (database %s)\nCheck against it with: streamdoctor check --outage-server http://%s\n", l.Addr(), store.What(), l.Addr())
			if forDur > 0 {
				var c context.CancelFunc
				ctx, c = context.WithTimeout(ctx, forDur)
				defer c()
			}
			if err := srv.Serve(ctx, l); err != nil {
				return &exitError{code: ExitFailed, msg: oneLineErr(err)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8090", "address to listen on")
	c.Flags().StringVar(&db, "db", "", "sqlite:PATH or postgres://… (default: sqlite in your data folder)")
	c.Flags().Float64Var(&perAddr, "per-address-rate", 2, "reports per second taken from one address (bursts of four times that)")
	c.Flags().DurationVar(&forDur, "for", 0, "stop after this long (default: until Ctrl-C)")
	return c
}

// oneLineErr folds an error onto one line, without control characters
// (a server's words may carry terminal escapes).
func oneLineErr(err error) string { return safe.OneLine(err.Error()) }
