//go:build !linux && !windows && !darwin

package sysinfo

import (
	"context"
	"os"
	"runtime"
)

// Live reads the facts of the running OS. On this OS the readers are not
// written yet: every fact is reported as not run, and the probes say so.
type Live struct{}

// Facts implements Source.
func (Live) Facts(ctx context.Context) (*Facts, error) {
	f := &Facts{OS: runtime.GOOS, Proxy: Proxy{Mode: "none"}}
	f.Home, _ = os.UserHomeDir()
	why := "not read on " + runtime.GOOS + " yet"
	for _, k := range []string{FactInterfaces, FactRoute, FactDNS, FactProxy, FactWiFi, FactUptime, FactBrowsers} {
		f.skip(k, why)
	}
	return f, nil
}

// BrowsersRunning is not known on this OS.
func BrowsersRunning() map[string]bool { return map[string]bool{} }

// ProcessesRunning is not known on this OS.
func ProcessesRunning() map[string]bool { return map[string]bool{} }
