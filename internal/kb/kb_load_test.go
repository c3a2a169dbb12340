package kb

import "testing"

func TestDefaultLoads(t *testing.T) {
	k, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Causes) != 20 || len(k.Fixes) != 17 {
		t.Fatalf("causes %d fixes %d", len(k.Causes), len(k.Fixes))
	}
}
