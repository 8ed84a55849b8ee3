package acceptance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	pub := strings.TrimSpace(e.admin(t, nil, "audit", "public-key"))
	if !strings.HasPrefix(pub, "dossier-audit+") || !strings.Contains(out, strings.Join(strings.SplitN(pub, "+", 3)[:2], "+")) {
		t.Fatalf("public key %q, verify said: %s", pub, out)
	}
	if info, err := os.Stat(filepath.Join(e.srv.cmd.Dir, "var", "audit-ed25519.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the generated audit key: %v, %v", info, err)
	}
}
