package auditlog_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/adapters/auditlog"
)

func sampleLeaf() auditlog.Leaf {
	return auditlog.Leaf{Commit: 4242, Prepare: 4242, Stream: "member-0b5b0a8e-5c2f-4a63-9d6c-1f1b8f0c6a11",
		Revision: 3, ID: uuid.MustParse("5f1c0e2a-3b4d-4c5e-8f60-718293a4b5c6"), Type: "MemberEmailChanged",
		Data: []byte(`{"_sealed":"AbC"}`), Metadata: []byte(`{"actor":{"id":"x","role":"member"}}`)}
}

// TestLeafEncodingIsTheDocumentedOne pins the bytes of the documented encoding, so anyone can recompute a leaf hash
// from a bundle, and a change of encoding cannot pass unnoticed.
func TestLeafEncodingIsTheDocumentedOne(t *testing.T) {
	l := sampleLeaf()
	var want []byte
	want = append(want, "dossier-audit-leaf-v1\n"...)
	want = append(want, 0, 0, 0, 0, 0, 0, 0x10, 0x92, 0, 0, 0, 0, 0, 0, 0x10, 0x92) // commit, prepare
	want = append(want, 0, 0, 0, byte(len(l.Stream)))
	want = append(want, l.Stream...)
	want = append(want, 0, 0, 0, 0, 0, 0, 0, 3)
	want = append(want, l.ID[:]...)
	want = append(want, 0, 0, 0, byte(len(l.Type)))
	want = append(want, l.Type...)
	want = append(want, 0, 0, 0, byte(len(l.Data)))
	want = append(want, l.Data...)
	want = append(want, 0, 0, 0, byte(len(l.Metadata)))
	want = append(want, l.Metadata...)
	if got := l.Encode(); string(got) != string(want) {
		t.Fatalf("encoding\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(want))
	}
	if l.Hash() != tlog.RecordHash(want) {
		t.Fatal("the leaf hash is not tlog.RecordHash of the encoding")
	}
}

// TestEveryFieldOfALeafIsHashed: changing any field, or moving bytes from one field to the next, changes the hash.
func TestEveryFieldOfALeafIsHashed(t *testing.T) {
	base := sampleLeaf()
	changes := map[string]func(*auditlog.Leaf){
		"commit":   func(l *auditlog.Leaf) { l.Commit++ },
		"prepare":  func(l *auditlog.Leaf) { l.Prepare++ },
		"stream":   func(l *auditlog.Leaf) { l.Stream += "x" },
		"revision": func(l *auditlog.Leaf) { l.Revision++ },
		"id":       func(l *auditlog.Leaf) { l.ID[15] ^= 1 },
		"type":     func(l *auditlog.Leaf) { l.Type = "MemberEmailChangeD" },
		"data":     func(l *auditlog.Leaf) { l.Data = []byte(`{"_sealed":"AbD"}`) },
		"metadata": func(l *auditlog.Leaf) { l.Metadata = []byte(`{"actor":{"id":"y","role":"member"}}`) },
		"data into metadata": func(l *auditlog.Leaf) {
			l.Metadata = append([]byte(`}`), l.Metadata...)
			l.Data = l.Data[:len(l.Data)-1]
		},
	}
	for name, change := range changes {
		l := sampleLeaf()
		l.Data, l.Metadata = append([]byte(nil), base.Data...), append([]byte(nil), base.Metadata...)
		change(&l)
		if l.Hash() == base.Hash() {
			t.Errorf("changing the %s leaves the leaf hash as it was", name)
		}
	}
}

func TestSignedHeads(t *testing.T) {
	k := testKey(t, 1)
	if !strings.HasPrefix(k.PublicKey(), "dossier-audit+") || !strings.HasPrefix(k.KeyID(), "dossier-audit+") {
		t.Fatalf("public key %q, id %q", k.PublicKey(), k.KeyID())
	}
	h := auditlog.Head{Size: 7, Root: tlog.RecordHash([]byte("x")), LastCommit: 99, LastPrepare: 99,
		At: time.Date(2026, 12, 6, 20, 0, 0, 123, time.UTC)}
	signed, err := k.Sign(h)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Verifier().Open(signed)
	if err != nil || got != h {
		t.Fatalf("open: %+v, %v", got, err)
	}
	if _, err := testKey(t, 2).Verifier().Open(signed); !errors.Is(err, auditlog.ErrWrongKey) {
		t.Errorf("another key: %v", err)
	}
	forged := strings.Replace(signed, "\n7\n", "\n8\n", 1)
	if _, err := k.Verifier().Open(forged); !errors.Is(err, auditlog.ErrBadSignature) {
		t.Errorf("a changed size: %v", err)
	}
	for _, bad := range []string{"", "x", "\n\n", signed[:len(signed)/2]} {
		if _, err := k.Verifier().Open(bad); err == nil {
			t.Errorf("%q opened", bad)
		}
	}
	for _, bad := range []string{"", "00", strings.Repeat("zz", 32), strings.Repeat("ab", 31)} {
		if _, err := auditlog.ParseKey(bad); !errors.Is(err, auditlog.ErrInvalidSigningKey) {
			t.Errorf("signing key %q: %v", bad, err)
		}
	}
	for _, bad := range []string{"", "dossier-audit", "other+12345678+AQ==", k.PublicKey() + "x"} {
		if _, err := auditlog.ParseVerifier(bad); !errors.Is(err, auditlog.ErrInvalidPublicKey) {
			t.Errorf("public key %q: %v", bad, err)
		}
	}
}
