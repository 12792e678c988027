package api_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock"
)

func (f *fixture) doKey(t *testing.T, method, path, token, key, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set(api.IdempotencyHeader, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b}
}

// Every write replays its original outcome for the same key and body, and
// refuses the same key for another body.
func TestIdempotentWrites(t *testing.T) {
	f := newFixture(t, nil)
	sre := f.token(t, "alice", api.RoleSRE, api.RoleDeployer)
	other := f.token(t, "bob", api.RoleSRE)

	create := `{"scope":"eqiad","reason":"switch maintenance"}`
	first := f.doKey(t, "POST", "/api/v1/holds", sre, "k-create", create)
	if first.status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.status, first.body)
	}
	var h1, h2 lock.Hold
	first.decode(t, &h1)
	again := f.doKey(t, "POST", "/api/v1/holds", sre, "k-create", create)
	if again.status != http.StatusCreated {
		t.Fatalf("retried create: %d %s", again.status, again.body)
	}
	again.decode(t, &h2)
	if h1.ID != h2.ID || h1.Revision != h2.Revision {
		t.Fatalf("retried create made another hold or revision: %s@%d vs %s@%d", h1.ID, h1.Revision, h2.ID, h2.Revision)
	}
	if n := len(f.store.Snapshot().Holds); n != 1 {
		t.Fatalf("%d holds after a retried create, want 1", n)
	}
	// Another actor's same key is another key.
	if a := f.doKey(t, "POST", "/api/v1/holds", other, "k-create", create); a.status != http.StatusCreated {
		t.Fatalf("bob's create with alice's key string: %d %s", a.status, a.body)
	}
	mismatch := f.doKey(t, "POST", "/api/v1/holds", sre, "k-create", `{"scope":"codfw","reason":"switch maintenance"}`)
	if mismatch.status != http.StatusUnprocessableEntity || mismatch.errBody(t).Error.Code != "idempotency_mismatch" {
		t.Fatalf("same key, other body: %d %s", mismatch.status, mismatch.body)
	}

	amend := `{"reason":"switch maintenance, longer"}`
	if a := f.doKey(t, "PATCH", "/api/v1/holds/"+h1.ID, sre, "k-amend", amend); a.status != http.StatusOK {
		t.Fatalf("amend: %d %s", a.status, a.body)
	}
	if a := f.doKey(t, "PATCH", "/api/v1/holds/"+h1.ID, sre, "k-amend", amend); a.status != http.StatusOK {
		t.Fatalf("retried amend: %d %s", a.status, a.body)
	}

	release := `{"reason":"done"}`
	if a := f.doKey(t, "DELETE", "/api/v1/holds/"+h1.ID, sre, "k-release", release); a.status != http.StatusOK {
		t.Fatalf("release: %d %s", a.status, a.body)
	}
	// The retry of a release that went through reports success, not 404.
	retried := f.doKey(t, "DELETE", "/api/v1/holds/"+h1.ID, sre, "k-release", release)
	if retried.status != http.StatusOK {
		t.Fatalf("retried release: %d %s", retried.status, retried.body)
	}
	var released lock.Hold
	retried.decode(t, &released)
	if released.ID != h1.ID {
		t.Fatalf("retried release answered with hold %s, want %s", released.ID, h1.ID)
	}
	// Without the key the second release is a 404, as before.
	if a := f.doKey(t, "DELETE", "/api/v1/holds/"+h1.ID, sre, "k-release-2", release); a.status != http.StatusNotFound {
		t.Fatalf("release of a released hold with a new key: %d %s", a.status, a.body)
	}

	deploy := `{"scope":"codfw","reason":"deploy 1.45.0-wmf.3"}`
	var d1, d2 lock.Hold
	a := f.doKey(t, "POST", "/api/v1/deploys", sre, "k-deploy", deploy)
	if a.status != http.StatusCreated {
		t.Fatalf("deploy: %d %s", a.status, a.body)
	}
	a.decode(t, &d1)
	a = f.doKey(t, "POST", "/api/v1/deploys", sre, "k-deploy", deploy)
	if a.status != http.StatusCreated {
		t.Fatalf("retried deploy (must not conflict with itself): %d %s", a.status, a.body)
	}
	a.decode(t, &d2)
	if d1.ID != d2.ID {
		t.Fatalf("retried deploy made a second hold %s (first %s)", d2.ID, d1.ID)
	}

	override := `{"scope":"eqiad","reason":"gate misfires","duration":"1h"}`
	var o1, o2 lock.Hold
	f.doKey(t, "POST", "/api/v1/overrides", sre, "k-override", override).decode(t, &o1)
	f.doKey(t, "POST", "/api/v1/overrides", sre, "k-override", override).decode(t, &o2)
	if o1.ID == "" || o1.ID != o2.ID {
		t.Fatalf("retried override: %q vs %q", o1.ID, o2.ID)
	}

	// Exactly one created event per keyed create.
	page, err := f.store.History(t.Context(), lock.HistoryQuery{Action: lock.ActionCreated})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(page.Events); n != 4 {
		t.Fatalf("%d created events, want 4 (alice's hold, bob's hold, deploy, override)", n)
	}
}

func TestIdempotencyKeyValidated(t *testing.T) {
	f := newFixture(t, nil)
	sre := f.token(t, "alice", api.RoleSRE)
	for name, key := range map[string]string{"space": "a b", "too long": string(bytes.Repeat([]byte("k"), 256))} {
		t.Run(name, func(t *testing.T) {
			a := f.doKey(t, "POST", "/api/v1/holds", sre, key, `{"scope":"eqiad","reason":"x"}`)
			if a.status != http.StatusBadRequest || a.errBody(t).Error.Field != api.IdempotencyHeader {
				t.Fatalf("bad key %q: %d %s", key, a.status, a.body)
			}
			if n := len(f.store.Snapshot().Holds); n != 0 {
				t.Fatalf("a rejected request wrote %d holds", n)
			}
		})
	}
}
