package fix

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Real outputs of `networksetup`, see testdata/darwin/SOURCES.md.

func readDarwin(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "darwin", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseNetworkServiceOrderReal(t *testing.T) {
	for _, tc := range []struct {
		file string
		want map[string]string
	}{
		{"order-l2tp-vpn-empty-device.txt", map[string]string{
			"en7":     "USB 10/100/1000 LAN",
			"en0":     "Wi-Fi",
			"en6":     "Bluetooth PAN",
			"bridge0": "Thunderbolt Bridge",
		}},
		{"order-no-wifi-ethernet-firewire.txt", map[string]string{
			"en0":     "Ethernet",
			"fw0":     "FireWire",
			"en3":     "Bluetooth PAN",
			"bridge0": "Thunderbolt Bridge",
		}},
		// Disabled "(*)" services carry no route, so their devices are not
		// mapped, and never to the enabled service listed before them.
		{"order-macpro-disabled-services.txt", map[string]string{
			"en0": "Ethernet 1",
			"en1": "Ethernet 2",
		}},
		{"order-usbserial-first.txt", map[string]string{
			"usbserial": "USB-Serial Controller D",
			"en0":       "Ethernet",
			"en1":       "Wi-Fi",
			"en5":       "iPhone USB",
			"en4":       "Bluetooth PAN",
			"bridge0":   "Thunderbolt Bridge",
		}},
		{"order-duplicate-usb-lan-macos15.txt", map[string]string{
			"en9":     "AX88179A",
			"en5":     "USB 10/100/1000 LAN",
			"en6":     "AX88179",
			"en11":    "USB 10/100/1000 LAN 2",
			"bridge0": "Thunderbolt Bridge",
			"en0":     "Wi-Fi",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := ParseNetworkServiceOrder(readDarwin(t, tc.file))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestParseNetworkServicesReal(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"list-retina-mbp-vpn-services.txt", []string{
			"Thunderbolt Ethernet", "Wi-Fi", "Thunderbolt Bridge", "VPN (PPTP)",
			"Witopia KC IPsec", "Bluetooth DUN", "Bluetooth PAN",
		}},
		{"list-usb-lan-wifi-bridge.txt", []string{
			"USB 10/100/1000 LAN", "Wi-Fi", "Thunderbolt Bridge",
		}},
		{"list-no-header-tailscale-tunnel.txt", []string{
			"USB-Serial Controller D", "Ethernet", "Wi-Fi", "iPhone USB",
			"Bluetooth PAN", "Thunderbolt Bridge", "Tailscale Tunnel",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := ParseNetworkServices(readDarwin(t, tc.file))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}
