package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/outage"
	"github.com/streamdoctor/streamdoctor/internal/outage/server"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/safe"
)

func newOutageCmd(ios *IO) *cobra.Command {
	c := &cobra.Command{
		Use:   "outage",
		Short: "The crowd outage service: is it down for everyone, or blocked on my side?",
		// Without a Run, cobra answers an unknown subcommand with help and
		// exit 0.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown command %q for \"streamdoctor outage\" (commands: serve; see 'streamdoctor outage --help')", args[0])
			}
			return cmd.Help()
		},
	}
	c.AddCommand(newOutageServeCmd(ios))
	return c
}

func newOutageServeCmd(ios *IO) *cobra.Command {
	var listen, db string
	var perNet float64
	var forDur, statusCache time.Duration
	var trust []string
	var minNetworks, powBits int
	var requirePoW bool
	c := &cobra.Command{
		Use:   "serve",
		Short: "Take anonymous reports and answer \"is it down?\" (SQLite by default, PostgreSQL for many instances)",
		Example: "  streamdoctor outage serve\n" +
			"  streamdoctor outage serve --listen 0.0.0.0:8090 --db postgres://outage@db.internal/outage\n" +
			"  streamdoctor outage serve --trust-proxy 10.0.0.5/32 --require-pow   # behind a reverse proxy, stamps asked\n" +
			"  streamdoctor check --outage-server http://127.0.0.1:8090",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if perNet <= 0 {
				name := "--per-network-rate"
				if cmd.Flags().Changed("per-address-rate") {
					name = "--per-address-rate"
				}
				return usageErr("%s %v: give reports per second, more than 0", name, perNet)
			}
			if minNetworks < 0 {
				return usageErr("--min-networks %d: give a number of networks, 0 or more", minNetworks)
			}
			if powBits < 1 || powBits > outage.MaxPoWBits {
				return usageErr("--pow-bits %d: give 1 to %d (%d is about 50 ms of a laptop's work)", powBits, outage.MaxPoWBits, server.DefaultPoWBits)
			}
			if statusCache < 0 {
				return usageErr("--status-cache %v: give a duration, 0 to compute every status afresh", statusCache)
			}
			var proxies []netip.Prefix
			for _, c := range trust {
				p, err := netip.ParsePrefix(c)
				if err != nil {
					a, aerr := netip.ParseAddr(c)
					if aerr != nil {
						return usageErr("--trust-proxy %q: give a proxy's address or CIDR (e.g. 10.0.0.5/32 or fd00::/64)", c)
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				proxies = append(proxies, p.Masked())
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
			params := server.DefaultParams
			params.MinNetworks = minNetworks
			cache := statusCache
			if cache == 0 {
				cache = -1 // never cached
			}
			bits := 0
			if requirePoW {
				bits = powBits
			}
			srv := server.NewServer(server.Config{Store: store, Services: profile.Names(), PerNetwork: perNet, Params: params,
				TrustProxy: proxies, PoWBits: bits, StatusCache: cache,
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
	c.Flags().Float64Var(&perNet, "per-network-rate", 2, "reports per second taken from one network, a /24 or /48 (bursts of four times that)")
	c.Flags().Float64Var(&perNet, "per-address-rate", 2, "former name of --per-network-rate")
	_ = c.Flags().MarkHidden("per-address-rate")
	c.Flags().IntVar(&minNetworks, "min-networks", server.DefaultParams.MinNetworks, "distinct networks (/24, /48) that must report within 15 minutes before the status can be elevated or outage")
	c.Flags().StringArrayVar(&trust, "trust-proxy", nil, "a reverse proxy's address or CIDR whose X-Forwarded-For is believed (repeatable); from others it is ignored")
	c.Flags().BoolVar(&requirePoW, "require-pow", false, "take reports only with a proof-of-work stamp (the client computes it when asked; docs/crowd.md)")
	c.Flags().IntVar(&powBits, "pow-bits", server.DefaultPoWBits, "leading zero bits a stamp needs with --require-pow (each one doubles the client's work)")
	c.Flags().DurationVar(&statusCache, "status-cache", server.DefaultStatusCache, "answer a computed status again for this long (a report taken here drops it at once); 0: never")
	c.Flags().DurationVar(&forDur, "for", 0, "stop after this long (default: until Ctrl-C)")
	return c
}

// oneLineErr folds an error onto one line, without control characters
// (a server's words may carry terminal escapes).
func oneLineErr(err error) string { return safe.OneLine(err.Error()) }
