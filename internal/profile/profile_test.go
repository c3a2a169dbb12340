package profile

import "testing"

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
