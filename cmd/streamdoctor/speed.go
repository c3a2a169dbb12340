package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/report"
	"github.com/streamdoctor/streamdoctor/internal/speed"
)

type speedOptions struct {
	server   string
	json     bool
	max      time.Duration
	noUpload bool
	verbose  bool
}

// speedDoc is the streamdoctor.speed/v1 document.
type speedDoc struct {
	Schema string `json:"schema"`
	report.Speed
}

func newSpeedCmd(ios *IO) *cobra.Command {
	o := &speedOptions{}
	c := &cobra.Command{
		Use:   "speed",
		Short: "Measure throughput and latency under load, and judge them for SD, HD and 4K",
		Example: "  streamdoctor speed\n" +
			"  streamdoctor speed --server http://192.168.1.10:8080/speedtest --json\n" +
			"  streamdoctor speed serve --listen 0.0.0.0:8080",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSpeed(cmd, ios, o) },
	}
	f := c.Flags()
	f.StringVar(&o.server, "server", "", "measure against this server instead of Netflix's (fast.com, then M-Lab's ndt7)")
	f.BoolVar(&o.json, "json", false, "print the streamdoctor.speed/v1 JSON document")
	f.DurationVar(&o.max, "max", 10*time.Second, "longest the test may take (2s to 30s)")
	f.BoolVar(&o.noUpload, "no-upload", false, "measure download only")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "also print the server, responsiveness (RPM), jitter and loss")
	c.AddCommand(newSpeedServeCmd(ios))
	return c
}

func runSpeed(cmd *cobra.Command, ios *IO, o *speedOptions) error {
	if o.max < 2*time.Second || o.max > 30*time.Second {
		return usageErr("--max %s is out of range: use 2s to 30s", o.max)
	}
	envf := ios.Env
	if o.server != "" {
		if _, err := (speed.Server{URL: o.server}).Targets(cmd.Context()); err != nil {
			return usageErr("--server: %s", err)
		}
	}
	var progress func(string, float64)
	stop := func() {}
	if ios.ErrTTY && !o.json {
		var mu sync.Mutex
		progress = func(dir string, mbps float64) {
			mu.Lock()
			defer mu.Unlock()
			arrow := "↓"
			if dir == "upload" {
				arrow = "↑"
			}
			fmt.Fprintf(ios.ErrOut, "\r\x1b[K%s %6.1f Mbps (%s)", arrow, mbps, dir)
		}
		stop = func() { fmt.Fprint(ios.ErrOut, "\r\x1b[K") }
	}
	sp, err := check.Speed(cmd.Context(), envf(), profile.Netflix(), o.server, o.max, !o.noUpload, progress)
	stop()
	if cmd.Context().Err() != nil {
		return interrupted("speed test")
	}
	// A backend that failed before another worked is worth a line; when the
	// only one tried failed, the error says it.
	if err == nil || len(sp.Notes) > 1 {
		for _, n := range sp.Notes {
			fmt.Fprintln(ios.ErrOut, "streamdoctor: "+n)
		}
	}
	if err != nil {
		return &exitError{code: ExitFailed, msg: err.Error()}
	}
	if o.json {
		enc := json.NewEncoder(ios.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(speedDoc{Schema: "streamdoctor.speed/v1", Speed: *sp}); err != nil {
			return err
		}
	} else {
		// Plain words by default; the figures help desks read with -v.
		report.SpeedTable(ios.Out, sp, ios.OutTTY, !o.verbose)
	}
	if sp.Verdicts[1].Verdict == speed.NotEnough {
		return &exitError{code: ExitProblem}
	}
	return nil
}

func newSpeedServeCmd(ios *IO) *cobra.Command {
	var listen string
	var forDur time.Duration
	var maxConns int
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve speed tests (for the lab, tests and your own network)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return usageErr("--listen %s: %s", listen, err)
			}
			if maxConns < 1 {
				return usageErr("--max-conns %d: give at least 1", maxConns)
			}
			fmt.Fprintf(ios.Out, "Serving speed tests on http://%s/speedtest\nMeasure with: streamdoctor speed --server http://%s/speedtest\n", l.Addr(), l.Addr())
			ctx := cmd.Context()
			if forDur > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, forDur)
				defer cancel()
			}
			if err := speed.Serve(ctx, l, speed.ServeOptions{MaxConns: maxConns}); err != nil {
				return &exitError{code: ExitFailed, msg: err.Error()}
			}
			return nil
		},
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on (use 0.0.0.0:8080 to serve your network)")
	c.Flags().DurationVar(&forDur, "for", 0, "stop after this long (default: until Ctrl-C)")
	c.Flags().IntVar(&maxConns, "max-conns", speed.DefaultMaxConns(), "connections served at once (more wait their turn)")
	return c
}
