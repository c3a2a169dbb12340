package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamdoctor/streamdoctor/internal/safe"
	"github.com/streamdoctor/streamdoctor/internal/sysinfo"
)

func newFactsCmd(ios *IO) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "facts",
		Short: "Show what StreamDoctor reads from this machine (for help-desk staff)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ios.Env().Facts.Facts(cmd.Context())
			if f == nil {
				return &exitError{code: ExitFailed, msg: fmt.Sprintf("could not read this machine's facts: %v", err)}
			}
			if asJSON {
				vpn := []string{}
				for _, i := range f.Interfaces {
					if i.IsVPN() && i.Up {
						vpn = append(vpn, i.Name)
					}
				}
				enc := json.NewEncoder(ios.Out)
				enc.SetIndent("", "  ")
				if f.Proxy.URL != "" {
					f.Proxy.URL = safe.Credentials(f.Proxy.URL)
				}
				return enc.Encode(struct {
					Schema string `json:"schema"`
					*sysinfo.Facts
					VPN         []string `json:"vpn"`
					UptimeHours float64  `json:"uptime_hours"`
				}{"streamdoctor.facts/v1", f, vpn, f.Uptime.Hours()})
			}
			fmt.Fprint(ios.Out, factsText(f))
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the streamdoctor.facts/v1 JSON document")
	return c
}

func factsText(f *sysinfo.Facts) string {
	b := &strings.Builder{}
	line := func(k, fact, v string) {
		if why, skipped := f.Skipped(fact); skipped && v == "" {
			v = "not read (" + why + ")"
		}
		if v == "" {
			v = "none"
		}
		// What the OS said (names, SSIDs, proxy addresses) is outside text.
		lines := strings.Split(v, "\n")
		for i, l := range lines {
			lines[i] = safe.Credentials(safe.Text(l))
		}
		fmt.Fprintf(b, "%-13s %s\n", k, strings.Join(lines, "\n"))
	}
	line("OS", "", f.OS)
	var ifs []string
	for _, i := range f.Interfaces {
		state := "down"
		if i.Up {
			state = "up"
		}
		s := fmt.Sprintf("%s (%s, %s)", i.Name, i.Kind, state)
		if len(i.Addrs) > 0 {
			s += " " + strings.Join(i.Addrs, " ")
		}
		ifs = append(ifs, s)
	}
	line("Interfaces", sysinfo.FactInterfaces, strings.Join(ifs, "\n              "))
	route := func(r *sysinfo.Route) string {
		if r == nil {
			return ""
		}
		if r.Gateway == "" {
			return "via " + r.Interface
		}
		return r.Gateway + " on " + r.Interface
	}
	line("Gateway", sysinfo.FactRoute, route(f.DefaultRoute))
	line("IPv6 gateway", sysinfo.FactRoute, route(f.DefaultRoute6))
	dns := strings.Join(f.DNSServers, ", ")
	if dns != "" && f.DNSSource != "" {
		dns += " (" + f.DNSSource
		if len(f.DNSUpstreams) > 0 {
			dns += "; upstream " + strings.Join(f.DNSUpstreams, ", ")
		}
		dns += ")"
	}
	line("DNS servers", sysinfo.FactDNS, dns)
	proxy := ""
	if f.Proxy.Mode != "" && f.Proxy.Mode != "none" {
		proxy = fmt.Sprintf("%s %s (from %s)", f.Proxy.Mode, f.Proxy.URL, f.Proxy.Source)
	}
	line("Proxy", sysinfo.FactProxy, proxy)
	var vpns []string
	for _, i := range f.Interfaces {
		if i.IsVPN() && i.Up {
			vpns = append(vpns, i.Name+" ("+i.Kind+")")
		}
	}
	line("VPN", sysinfo.FactInterfaces, strings.Join(vpns, ", "))
	wifi := ""
	if f.WiFi != nil {
		wifi = fmt.Sprintf("%s, signal %.0f dBm", f.WiFi.Interface, f.WiFi.SignalDBM)
	}
	line("Wi-Fi", sysinfo.FactWiFi, wifi)
	conn := f.Connectivity
	if conn != "" && f.ConnectivitySource != "" {
		conn += " (" + f.ConnectivitySource + ")"
	}
	line("Connectivity", sysinfo.FactConnectivity, conn)
	up := ""
	if f.Uptime > 0 {
		up = f.Uptime.Round(time.Minute).String()
	}
	line("Uptime", sysinfo.FactUptime, up)
	var bs []string
	for _, br := range f.Browsers {
		s := br.Name
		if br.Version != "" {
			s += " " + br.Version
		}
		if br.Running {
			s += " (running)"
		}
		bs = append(bs, s)
	}
	sort.Strings(bs)
	line("Browsers", sysinfo.FactBrowsers, strings.Join(bs, ", "))
	line("Home", "", f.Home)
	return b.String()
}
