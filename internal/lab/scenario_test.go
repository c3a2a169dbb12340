package lab

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/streamdoctor/streamdoctor/internal/yamlx"
)

const minimal = "version: 1\nname: x\nexpect: {top_cause: none}\n"

func TestParseAnswerSpellings(t *testing.T) {
	s, err := Parse("x.yaml", []byte(minimal+"answers: {private_window_works: true, other_devices_work: n}\n"))
	if err != nil || s.Answers["private_window_works"] != "yes" || s.Answers["other_devices_work"] != "no" {
		t.Errorf("%v %v", s, err)
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse("x.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if s.Service != "netflix" || s.System.Link != "wifi" || s.Network.DNS != "ok" || s.Network.IPv6 != "none" ||
		*s.System.WiFiSignalDBM != -55 || s.Network.Service != "ok" || s.System.Proxy != "none" {
		t.Errorf("defaults not healthy: %+v", s)
	}
}

func TestParseErrorsNameFileLineKey(t *testing.T) {
	cases := []struct{ src, want string }{
		{minimal + "network: {dns: ok, colour: blue}\n", "x.yaml:4: colour: unknown key"},
		{minimal + "network:\n  dns: flaky\n", "x.yaml:5: network.dns: \"flaky\" is not one of"},
		{minimal + "system: {browsers: [{name: chrome}, {name: netscape}]}\n", "x.yaml:4: system.browsers[1].name: \"netscape\" is not one of"},
		{"version: 2\nname: x\nexpect: {top_cause: none}\n", "x.yaml:1: version: version must be 1"},
		{"version: 1\nname: x\nexpect: {top_cause: gremlins}\n", "x.yaml:3: expect.top_cause: unknown cause \"gremlins\""},
		{minimal + "answers: {private_window_works: maybe}\n", "x.yaml:4: answers.private_window_works: \"maybe\" is not an answer: use yes, no or unknown"},
		{minimal + "network: {connect_failure_rate: 1.5}\n", "x.yaml:4: network.connect_failure_rate: must be between 0 and 1"},
		{minimal + "network: {service_connect_ms: fast}\n", "x.yaml:4: network.service_connect_ms: \"fast\" is not a number"},
		{minimal + "system:\n  browsers:\n    - {name: chrome, running: maybe}\n", "x.yaml:6: system.browsers[0].running: \"maybe\" is not true or false"},
		{minimal + "system: {browser_requests: sometimes}\n", "x.yaml:4: system.browser_requests: \"sometimes\" is not one of"},
		{"version: 1\nname: x\n", "x.yaml:1: expect: missing expected top_cause"},
		{"", "x.yaml:1: file is empty"},
		{"version: [\n", "x.yaml:"},
	}
	for _, c := range cases {
		_, err := Parse("x.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
}

func TestScenarioFilesHaveAbout(t *testing.T) {
	files, _ := Glob([]string{"../../scenarios"})
	for _, f := range files {
		s, err := LoadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(s.About) == "" {
			t.Errorf("%s: no about line", f)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := Glob([]string{"../../scenarios"})
	for _, fn := range files {
		b, _ := os.ReadFile(fn)
		f.Add(b)
	}
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse("f.yaml", b)
		if err != nil {
			var ye *yamlx.Error
			if !errors.As(err, &ye) || ye.Line < 1 {
				t.Fatalf("error without location: %v", err)
			}
			return
		}
		if s.Network.ConnectFailureRate < 0 || s.Network.ConnectFailureRate > 1 || s.System.Link == "" {
			t.Fatalf("accepted bad scenario %+v", s)
		}
	})
}

// A bad value is named with the values that would be right, and no empty
// alternative among them.
func TestBadValueListsTheRightOnes(t *testing.T) {
	_, err := Parse("x.yaml", []byte("version: 1\nname: x\nnetwork: {dns: sluggish}\nexpect: {top_cause: none}\n"))
	if err == nil || !strings.Contains(err.Error(), `x.yaml:3: network.dns: "sluggish" is not one of ok | servfail`) {
		t.Errorf("got %v", err)
	}
}
