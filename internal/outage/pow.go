package outage

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/bits"
	"strconv"
)

// The proof-of-work stamp (hashcash): a server that asks for one answers a
// report without it HTTP 428 with a PoWChallenge; the client finds a nonce
// such that PoWDigest(report with that challenge and nonce) starts with at
// least Bits zero bits (about 2^Bits hashes: some 50 ms on a laptop at
// the server's default), and sends the report again with both. The server
// checks the stamp with one hash. docs/crowd.md describes the protocol.

// MaxPoWBits is the most work a client agrees to do (2^26 hashes, a few
// seconds): a server asking for more is refused.
const MaxPoWBits = 26

// powScheme opens every hashed stamp, so a stamp made for anything else
// never verifies.
const powScheme = "streamdoctor-pow/v1"

// PoWChallenge is what a server wants before it takes a report.
type PoWChallenge struct {
	Challenge string `json:"challenge"`
	Bits      int    `json:"bits"`
}

// powPrefix is what the digest covers before the nonce: the scheme, the
// service, the code, the region, the client and the challenge, each
// followed by a zero byte.
func powPrefix(r Report) []byte {
	b := make([]byte, 0, 128)
	for _, f := range []string{powScheme, r.Service, r.Code, r.Region, r.Client, r.Challenge} {
		b = append(b, f...)
		b = append(b, 0)
	}
	return b
}

// PoWDigest is SHA-256 over the stamp's fields and r.Nonce.
func PoWDigest(r Report) [32]byte {
	return sha256.Sum256(append(powPrefix(r), r.Nonce...))
}

// LeadingZeroBits counts the zero bits a digest starts with.
func LeadingZeroBits(d [32]byte) int {
	n := 0
	for _, c := range d {
		if c != 0 {
			return n + bits.LeadingZeros8(c)
		}
		n += 8
	}
	return n
}

// PoWValid reports whether r carries a stamp of at least want bits (the
// challenge itself is the server's to check).
func PoWValid(r Report, want int) bool {
	return r.Challenge != "" && r.Nonce != "" && LeadingZeroBits(PoWDigest(r)) >= want
}

// SolvePoW finds a nonce that makes r's stamp under challenge reach want
// zero bits: 2^want hashes on average.
func SolvePoW(ctx context.Context, r Report, challenge string, want int) (string, error) {
	if want < 0 || want > MaxPoWBits {
		return "", fmt.Errorf("the outage server asks for a %d-bit proof of work; this client does at most %d", want, MaxPoWBits)
	}
	r.Challenge = challenge
	prefix := powPrefix(r)
	buf := make([]byte, len(prefix), len(prefix)+16)
	copy(buf, prefix)
	for i := uint64(0); ; i++ {
		if i&0x3fff == 0 && ctx.Err() != nil {
			return "", ctx.Err()
		}
		b := strconv.AppendUint(buf, i, 16)
		if LeadingZeroBits(sha256.Sum256(b)) >= want {
			return string(b[len(prefix):]), nil
		}
	}
}
