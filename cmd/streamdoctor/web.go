package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cli/browser"
	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/check"
	"github.com/streamdoctor/streamdoctor/internal/profile"
	"github.com/streamdoctor/streamdoctor/internal/report"
	"github.com/streamdoctor/streamdoctor/internal/web"
)

func newWebCmd(ios *IO) *cobra.Command {
	var listen, service, url, code string
	var noBrowser, allowNetwork bool
	c := &cobra.Command{
		Use:   "web",
		Short: "Open StreamDoctor as a page in your browser (checks, explains and shows what to do)",
		Example: "  streamdoctor web\n" +
			"  streamdoctor web --no-browser --code NSEZ-503",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := loadKB()
			if err != nil {
				return err
			}
			prof, err := resolveProfile(cmd, service, url)
			if err != nil {
				return err
			}
			choice, err := resolveCode(k, code, prof)
			if err != nil {
				return err
			}
			if choice.note != "" {
				fmt.Fprintln(ios.ErrOut, choice.note)
			}
			code = choice.key
			if _, _, err := net.SplitHostPort(listen); err != nil {
				return usageErr("--listen %q: give host:port, e.g. 127.0.0.1:8080 (port 0 picks a free one)", listen)
			}
			if !web.IsLoopback(listen) {
				if !allowNetwork {
					return usageErr("--listen %s is not a loopback address: the page would be open to your network; add --allow-network if that is what you want", listen)
				}
				fmt.Fprintf(ios.ErrOut, "streamdoctor: warning: serving on %s, reachable from your network (the link's key still guards it)\n", listen)
			}
			if err := checkEnviron(); err != nil {
				return err
			}
			// The page applies fixes: as root on a user's home, it acts as
			// that user for files (see actAsHomeOwner).
			if err := actAsHomeOwner(); err != nil {
				return err
			}
			env := ios.Env
			dir, err := stateDir()
			if err != nil {
				return &exitError{code: ExitFailed, msg: "no place for the session state: " + err.Error()}
			}
			fenv := fixEnv(dir, prof.CookieDomains, nil)
			srv := web.New(web.Config{KB: k, Env: env, Profile: prof, Code: code, Log: log.New(io.Discard, "", 0),
				FixEnv: fenv, Guide: newGuide(k, env, prof, code, fenv, filepath.Join(dir, "session.json"), false),
				Speed: func(ctx context.Context, progress func(string, float64)) (*report.Speed, error) {
					return check.Speed(ctx, env(), prof, "", 10*time.Second, true, progress)
				}})
			l, link, err := srv.Listen(listen)
			if err != nil {
				return usageErr("--listen %s: %s", listen, oneLineErr(err))
			}
			// The first line is exactly the address to open.
			fmt.Fprintln(ios.Out, link)
			opened := false
			if !noBrowser {
				opened = openThroughLaunchFile(srv, link)
				if !opened {
					fmt.Fprintln(ios.ErrOut, "Could not open a browser.")
				}
			}
			fmt.Fprintln(ios.ErrOut, webStartedNote(opened, ios.OwnWindow))
			if err := srv.Serve(cmd.Context(), l); err != nil {
				return &exitError{code: ExitFailed, msg: oneLineErr(err)}
			}
			if cmd.Context().Err() == nil {
				// It stopped on its own: say so, once.
				fmt.Fprintln(ios.ErrOut, "StreamDoctor stopped: no page was open any more. Run it again to check again.")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:0", "address to serve the page on (loopback)")
	f.BoolVar(&allowNetwork, "allow-network", false, "allow a --listen address other devices can reach")
	f.BoolVar(&noBrowser, "no-browser", false, "print the address instead of opening a browser")
	f.StringVar(&service, "service", "netflix", "service to check ("+strings.Join(profile.Names(), ", ")+")")
	f.StringVar(&url, "url", "", "check any site instead of a built-in service")
	f.StringVar(&code, "code", "", "the error code you saw, e.g. NSEZ-503")
	return c
}

// openThroughLaunchFile starts the browser on a launch file (readable by
// this user alone, in the runtime folder) that forwards to link, so the
// token is on no command line another user can list with ps.
func openThroughLaunchFile(srv *web.Server, link string) bool {
	var file string
	var err error
	for _, dir := range launchDirs() {
		if file, err = srv.LaunchFile(dir, link); err == nil {
			break
		}
	}
	if err != nil {
		return false
	}
	// The launcher's own chatter (xdg-open's) is not ours to show.
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenFile(file) == nil
}

// launchDirs lists where a launch file may go, best first: the user's
// runtime folder (XDG_RUNTIME_DIR, private to the user), then the temp
// folder (the file itself is 0600).
func launchDirs() []string {
	var dirs []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		dirs = append(dirs, d)
	}
	return append(dirs, os.TempDir())
}

// webStartedNote says where the page is and how it ends. In a window of
// its own (a double-click on Windows), plainly and without the terminal.
func webStartedNote(opened, ownWindow bool) string {
	if ownWindow {
		where := "StreamDoctor has opened in your web browser."
		if !opened {
			where = "Copy the address above into your web browser to open StreamDoctor."
		}
		return where + " Keep this window open while you use it; StreamDoctor stops when you close the page."
	}
	where := "StreamDoctor is open in your browser."
	if !opened {
		where = "Open the address above in your browser."
	}
	return where + " It stops by itself when the page is closed (or press Ctrl-C). For the terminal commands: streamdoctor --help"
}
