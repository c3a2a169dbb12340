package server

import "testing"

// A server that is not there is said once, not once per driver attempt.
func TestOncePerAttempt(t *testing.T) {
	a := "127.0.0.1:1 (127.0.0.1): dial error: dial tcp 127.0.0.1:1: connect: connection refused"
	msg := "failed to connect to `user=u database=x`: " + a + "\n" + a
	if got := oncePerAttempt(msg); got != "failed to connect to `user=u database=x`: "+a {
		t.Errorf("got %q", got)
	}
	if got := oncePerAttempt("two different: a b"); got != "two different: a b" {
		t.Errorf("changed %q", got)
	}
}
