package acceptance

import "testing"

// TestKeyboardWalkPasswordsAreRefusedAtActivation (issue 11, item 3): over the real binary (its password hasher
// carries the guess estimate), an activation with a keyboard walk, AZERTY or QWERTY, answers 422 password.too_common
// on the field password and opens nothing; the code still works with a good password.
func TestKeyboardWalkPasswordsAreRefusedAtActivation(t *testing.T) {
	e := startMemberEnv(t)
	reg := e.must(t, 202, e.call(t, "POST", "/v1/registrations", "", registration(aliceNIR, aliceKey, "Martin", "Alice",
		"1985-03-12", "alice@example.test")), "register")
	code := e.codeFor(t, "alice@example.test", 1)
	activation := "/v1/registrations/" + reg.str("registration_id") + "/activation"
	for _, pw := range []string{"azertyuiopqsdfghjklm", "azertyuiopqs", "qwertyuiopasdfgh"} {
		r := e.call(t, "POST", activation, "", map[string]string{"code": code, "password": pw})
		if r.status != 422 || r.str("code") != "password.too_common" || r.str("field") != "password" || r.str("message") == "" {
			t.Fatalf("activation with %q: %d %s", pw, r.status, r.raw)
		}
	}
	e.must(t, 201, e.call(t, "POST", activation, "", map[string]string{"code": code, "password": alicePassword}), "activate")
	e.must(t, 201, e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": aliceNIR, "password": alicePassword}), "login")
}
