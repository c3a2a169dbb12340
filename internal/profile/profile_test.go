package profile

import (
	"slices"
	"strings"
	"testing"
)

func TestFromURL(t *testing.T) {
	p, err := FromURL("https://www.bbc.co.uk/iplayer?x=1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Hosts[0].Name != "www.bbc.co.uk" || p.Hosts[0].Path != "/iplayer?x=1" || p.CookieDomains[0] != "bbc.co.uk" || len(p.Controls) == 0 {
		t.Errorf("%+v", p)
	}
	for _, bad := range []string{"", "www.example.com", "ftp://example.com/", "https://", "https://localhost/", "https://bad_host.com/"} {
		if _, err := FromURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestGet(t *testing.T) {
	if p, err := Get(" Netflix "); err != nil || p.Name != "netflix" || len(p.Hosts) != 3 || p.HDMbps != 5 || p.UHDMbps != 15 {
		t.Errorf("%+v %v", p, err)
	}
	if _, err := Get("hulu"); err == nil {
		t.Error("unknown service accepted")
	}
}

// Every built-in service loads from services.yaml with hosts, cookie
// domains and speeds, and each lists the others as its peers.
func TestBuiltinServices(t *testing.T) {
	want := []string{"disneyplus", "max", "netflix", "primevideo", "youtube"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, id := range want {
		p, err := Get(id)
		if err != nil || len(p.Hosts) == 0 || len(p.CookieDomains) == 0 || p.SDMbps <= 0 || p.Title == "" {
			t.Errorf("%s: %+v %v", id, p, err)
		}
		if len(p.BlockMarkers) == 0 && len(p.BlockAnswers) == 0 {
			t.Errorf("%s: no way to recognise its VPN refusal", id)
		}
		if n := len(Peers(id)); n != len(want)-1 {
			t.Errorf("%s has %d peers", id, n)
		}
	}
	p, _ := Get("netflix")
	p.Hosts[0].Name = "changed"
	if Netflix().Hosts[0].Name != "www.netflix.com" {
		t.Error("a caller changed the built-in profile")
	}
}

// A fact without its source, or a marker short enough to match ordinary
// pages, is refused with its line.
func TestServicesFileChecks(t *testing.T) {
	bad := strings.Replace(string(servicesSrc), `{marker: "forbidden-location",`, `{marker: "vpn",`, 1)
	if _, _, err := parseServices([]byte(bad)); err == nil || !strings.Contains(err.Error(), "services.yaml:") || !strings.Contains(err.Error(), "6 characters") {
		t.Errorf("short marker: %v", err)
	}
	bad = strings.Replace(string(servicesSrc), `source: "v2fly/domain-list-community@c975cce:data/disney"}`, `source: ""}`, 1)
	if _, _, err := parseServices([]byte(bad)); err == nil || !strings.Contains(err.Error(), "source") {
		t.Errorf("no source: %v", err)
	}
}
