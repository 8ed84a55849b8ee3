package keystore_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/adapters/keystore"
)

func TestKEKFileIsCreatedOnceAndKeptPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var", "data.kek")
	k1, err := keystore.LoadOrCreateKEKFile(path)
	if err != nil || len(k1) != keystore.KeySize {
		t.Fatalf("create: %d bytes, %v", len(k1), err)
	}
	k2, err := keystore.LoadOrCreateKEKFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reload gave another KEK (%v)", err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v)", info.Mode(), err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keystore.LoadOrCreateKEKFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable KEK file = %v", err)
	}
}

func TestParseKEKNeverEchoesIt(t *testing.T) {
	if _, err := keystore.ParseKEK(" " + strings.Repeat("ab", 32) + "\n"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", strings.Repeat("ab", 31), strings.Repeat("zz", 32)} {
		_, err := keystore.ParseKEK(bad)
		if err == nil || (bad != "" && strings.Contains(err.Error(), bad)) {
			t.Errorf("ParseKEK(%q) = %v", bad, err)
		}
	}
}
