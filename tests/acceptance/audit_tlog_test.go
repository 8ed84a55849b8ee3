package acceptance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/tests/testbin"
)

// TestAuditTreeOverTheRealBinary: beside a running server, `dossier audit sign` signs the tree of a member's journey,
// `audit verify` recomputes it from the server's node and finds every head good, also after the member's data is
// erased (leaves hash the sealed bytes), and the public key is printed for auditors.
func TestAuditTreeOverTheRealBinary(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	e.must(t, 200, e.call(t, "PUT", "/v1/me/phone", alice, map[string]string{"mobile_phone": "06 12 34 56 78"}), "phone")
	memberID := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "me").str("member_id")

	if out := e.admin(t, nil, "audit", "sign"); !strings.Contains(out, "tree head signed") {
		t.Fatalf("sign: %s", out)
	}
	if out := e.admin(t, nil, "audit", "verify"); !strings.Contains(out, "OK: the log matches every signed head") ||
		!strings.Contains(out, "signed heads: 1 found, 1 verified") {
		t.Fatalf("verify: %s", out)
	}

	// Alice's history as a bundle: checked offline (no server, no database) with the public key only; one byte
	// changed in an event's stored data, and it fails.
	pub := strings.TrimSpace(e.admin(t, nil, "audit", "public-key"))
	bundle := filepath.Join(t.TempDir(), "alice.jsonl")
	e.staffMember(t, "v.roux", "Victor Roux", "auditor")
	e.admin(t, nil, "audit", "export", "--auditor", "v.roux", "--member", memberID, "--proofs", "--out", bundle)
	if out, err := auditCheck(t, bundle, pub); err != nil || !strings.Contains(out, "OK:") {
		t.Fatalf("check of alice's bundle: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) < 3 || !strings.Contains(lines[0], `"signed_head"`) || !strings.Contains(lines[1], `"proof"`) ||
		!strings.Contains(lines[1], `"event_id"`) {
		t.Fatalf("bundle: a header then proven history lines expected, got %d lines starting %.200s", len(lines), raw)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.jsonl")
	i := strings.Index(lines[2], `"data":"`) + len(`"data":"`)
	c := byte('A')
	if lines[2][i] == 'A' {
		c = 'B'
	}
	lines[2] = lines[2][:i] + string(c) + lines[2][i+1:]
	if err := os.WriteFile(tampered, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := auditCheck(t, tampered, pub); err == nil {
		t.Fatalf("a tampered bundle checked: %s", out)
	}

	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	e.must(t, 200, e.call(t, "POST", "/v1/staff/members/"+memberID+"/erasure", admin,
		map[string]string{"reason": "member_request", "ticket": "DPO-2026-0002"}), "erase")
	if out := e.admin(t, nil, "audit", "sign"); !strings.Contains(out, "tree head signed") {
		t.Fatalf("sign after the erasure: %s", out)
	}
	out := e.admin(t, nil, "audit", "verify")
	if !strings.Contains(out, "OK: the log matches every signed head") || !strings.Contains(out, "signed heads: 2 found, 2 verified") {
		t.Fatalf("verify after the erasure: %s", out)
	}
	for _, secret := range []string{aliceNIR, "Martin", "alice@example.test"} {
		if strings.Contains(out, secret) {
			t.Errorf("verify printed %q", secret)
		}
	}
	if out, err := auditCheck(t, bundle, pub); err != nil {
		t.Fatalf("alice's bundle no longer checks after her erasure: %v\n%s", err, out)
	}
	// The heads published for an auditor to keep (a witness), and the log checked against that copy.
	kept := filepath.Join(t.TempDir(), "heads.jsonl")
	e.admin(t, nil, "audit", "heads", "--out", kept)
	if b, err := os.ReadFile(kept); err != nil || strings.Count(string(b), "\n") != 2 || !strings.Contains(string(b), `"note":"dossier audit tree head v1`) {
		t.Fatalf("heads: %v\n%s", err, b)
	}
	if out := e.admin(t, nil, "audit", "verify", "--head", kept); !strings.Contains(out, "heads kept outside the log: 2 checked") ||
		!strings.Contains(out, "OK: the log matches every signed head") {
		t.Fatalf("verify --head: %s", out)
	}
	if !strings.HasPrefix(pub, "dossier-audit+") || !strings.Contains(out, strings.Join(strings.SplitN(pub, "+", 3)[:2], "+")) {
		t.Fatalf("public key %q, verify said: %s", pub, out)
	}
	if info, err := os.Stat(filepath.Join(e.srv.cmd.Dir, "var", "audit-ed25519.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the generated audit key: %v, %v", info, err)
	}
}

// auditCheck runs `dossier audit check FILE --public-key KEY` alone, as an auditor would on their own machine.
func auditCheck(t *testing.T, file, pub string) (string, error) {
	t.Helper()
	out, err := exec.Command(testbin.Dossier(t), "audit", "check", file, "--public-key", pub).CombinedOutput()
	return string(out), err
}
