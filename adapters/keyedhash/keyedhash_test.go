package keyedhash_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
)

const testKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func testHasher(t *testing.T) *keyedhash.Hasher {
	t.Helper()
	h, err := keyedhash.FromHex(testKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The derivation is pinned: stored stream names depend on it, so a change must fail this test.
func TestStreamForIsStableAndSpecified(t *testing.T) {
	h := testHasher(t)
	key, _ := hex.DecodeString(testKeyHex)
	m := hmac.New(sha256.New, key)
	for _, p := range []string{"dossier/keyedhash/stream/v1", "insured", "1850375115042"} {
		var n [8]byte
		n[7] = byte(len(p))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	want := uuid.NewSHA1(keyedhash.Namespace, m.Sum(nil))
	got := h.StreamFor("insured", "1850375115042")
	if got != want {
		t.Fatalf("StreamFor = %s, want %s", got, want)
	}
	if got.Version() != 5 || got.String() != strings.ToLower(got.String()) {
		t.Errorf("not a canonical v5 uuid: %s", got)
	}
	if again := h.StreamFor("insured", "1850375115042"); again != got {
		t.Error("not deterministic")
	}
	// purposes, inputs and keys all separate the ids; length prefixes make the encoding unambiguous
	other, _ := keyedhash.FromHex(strings.Repeat("ab", 32))
	distinct := map[uuid.UUID]string{got: "insured/1850375115042"}
	for name, id := range map[string]uuid.UUID{
		"nirclaim":      h.StreamFor("nirclaim", "1850375115042"),
		"other nir":     h.StreamFor("insured", "1850375115043"),
		"shifted":       h.StreamFor("insured1", "850375115042"),
		"other key":     other.StreamFor("insured", "1850375115042"),
		"not canonical": h.StreamFor("insured", "1 85 03 75 115 042"),
	} {
		if prev, dup := distinct[id]; dup {
			t.Errorf("%s gives the same id as %s", name, prev)
		}
		distinct[id] = name
	}
}

func TestDigestAndVerify(t *testing.T) {
	h := testHasher(t)
	subject := uuid.NewString()
	d := h.Digest("activation", subject, "123456")
	if len(d) != sha256.Size {
		t.Fatalf("digest of %d bytes", len(d))
	}
	if !h.Verify("activation", subject, "123456", d) {
		t.Error("the right code is refused")
	}
	for name, ok := range map[string]bool{
		"wrong code":    h.Verify("activation", subject, "123457", d),
		"wrong subject": h.Verify("activation", uuid.NewString(), "123456", d),
		"wrong purpose": h.Verify("password-reset", subject, "123456", d),
		"shifted parts": h.Verify("activation", subject+"1", "23456", d),
		"truncated":     h.Verify("activation", subject, "123456", d[:16]),
		"empty digest":  h.Verify("activation", subject, "123456", nil),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKeyEncodings(t *testing.T) {
	raw, _ := hex.DecodeString(testKeyHex)
	fromHex := testHasher(t)
	want := fromHex.StreamFor("insured", "x")
	for name, s := range map[string]string{
		"std":        base64.StdEncoding.EncodeToString(raw),
		"raw std":    base64.RawStdEncoding.EncodeToString(raw),
		"url":        base64.URLEncoding.EncodeToString(raw),
		"with space": " " + base64.StdEncoding.EncodeToString(raw) + "\n",
	} {
		h, err := keyedhash.FromBase64(s)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if h.StreamFor("insured", "x") != want {
			t.Errorf("%s: another key", name)
		}
	}
	for name, err := range map[string]error{
		"short hex":   func() error { _, err := keyedhash.FromHex("abcd"); return err }(),
		"bad hex":     func() error { _, err := keyedhash.FromHex(strings.Repeat("zz", 32)); return err }(),
		"zero key":    func() error { _, err := keyedhash.FromHex(strings.Repeat("00", 32)); return err }(),
		"bad base64":  func() error { _, err := keyedhash.FromBase64("!!!!"); return err }(),
		"short bytes": func() error { _, err := keyedhash.New(make([]byte, 31)); return err }(),
	} {
		if !errors.Is(err, keyedhash.ErrInvalidKey) {
			t.Errorf("%s: %v, want ErrInvalidKey", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "zz") {
			t.Errorf("%s: the error echoes the key: %v", name, err)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "var", "secret.key")
	h1, err := keyedhash.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", info.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if k, err := hex.DecodeString(strings.TrimSpace(string(b))); err != nil || len(k) != keyedhash.KeySize {
		t.Errorf("file does not hold 32 bytes in hex: %q", b)
	}
	// loading again gives the same key, and so does reading the file as DOSSIER_SECRET_KEY would
	h2, err := keyedhash.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h3, err := keyedhash.FromHex(string(b))
	if err != nil {
		t.Fatal(err)
	}
	id := h1.StreamFor("insured", "1850375115042")
	if h2.StreamFor("insured", "1850375115042") != id || h3.StreamFor("insured", "1850375115042") != id {
		t.Error("the key changed between loads")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	// a fresh key differs from another fresh key
	h4, err := keyedhash.LoadOrCreateKeyFile(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	if h4.StreamFor("insured", "1850375115042") == id {
		t.Error("two generated keys are equal")
	}
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	const n = 8
	ids := make([]uuid.UUID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			h, err := keyedhash.LoadOrCreateKeyFile(path)
			errs[i] = err
			if err == nil {
				ids[i] = h.StreamFor("insured", "x")
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("loader %d: %v, id %s vs %s", i, errs[i], ids[i], ids[0])
		}
	}
}

func TestLoadKeyFileRefusesLoosePermissionsAndBadContent(t *testing.T) {
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose.key")
	if err := os.WriteFile(loose, []byte(testKeyHex+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keyedhash.LoadOrCreateKeyFile(loose); err == nil || !strings.Contains(err.Error(), "0644") {
		t.Errorf("loose permissions: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyedhash.LoadOrCreateKeyFile(bad); !errors.Is(err, keyedhash.ErrInvalidKey) {
		t.Errorf("bad content: %v", err)
	}
	raw := filepath.Join(dir, "raw.key")
	key, _ := hex.DecodeString(testKeyHex)
	if err := os.WriteFile(raw, key, 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := keyedhash.LoadOrCreateKeyFile(raw)
	if err != nil || h.StreamFor("insured", "x") != testHasher(t).StreamFor("insured", "x") {
		t.Errorf("raw 32-byte file: %v", err)
	}
}

func TestHasherNeverPrintsItsKey(t *testing.T) {
	h := testHasher(t)
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "hasher", h)
	out := fmt.Sprintf("%v %+v %#v %s %x", h, h, h, h, h) + buf.String()
	if strings.Contains(out, "0102030405") || strings.Contains(out, "[0 1 2 3") || !strings.Contains(out, "redacted") {
		t.Errorf("output: %s", out)
	}
}
