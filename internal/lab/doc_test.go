package lab

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestScenarioDocCoversEveryKey keeps docs/scenarios.md, which people write
// scenarios from, in step with the format: every key of every mapping and
// every enumerated value must appear in it, in backquotes.
func TestScenarioDocCoversEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			key := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if key == "" || key == "-" {
				continue
			}
			if !strings.Contains(doc, "`"+key+"`") {
				t.Errorf("docs/scenarios.md does not document %s%s", path, key)
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(ft, path+key+".")
			}
		}
	}
	walk(reflect.TypeOf(Scenario{}), "")
	for _, list := range [][]string{DNSModes, DNSNameModes, ServiceModes, TLSModes, ProxyModes, BrowserNames,
		{"ethernet", "wifi", "none", "linux", "windows", "macos", "failed", "unreachable", "wireguard", "openvpn", "other",
			"blocked", "down", "throttled", "blockpage", "reset", "broken"}} {
		for _, v := range list {
			if !strings.Contains(doc, "`"+v+"`") {
				t.Errorf("docs/scenarios.md does not list the value %q", v)
			}
		}
	}
}
