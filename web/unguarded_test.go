package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/scaplock/scaplock/api"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/server/servertest"
)

// A host whose scap bridge a person released shows on the page until the
// bridge guards scap's lock again.
func TestPageShowsUnguardedHosts(t *testing.T) {
	d := startDaemon(t, nil)
	bridge, err := servertest.Token(d.srv.SecretFile, "bridge-deploy1001", api.RoleDeployer)
	if err != nil {
		t.Fatal(err)
	}
	report := func(b apiv1.BridgeBody) {
		raw, _ := json.Marshal(b)
		req, _ := http.NewRequest(http.MethodPut, d.url+"/api/v1/bridges/deploy1001", bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+bridge)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("bridge report: HTTP %d", resp.StatusCode)
		}
	}
	b := newBrowser(t)
	b.open(t, d.url+"/")
	waitFor(t, b, "ALLOWED", verdictIs("global", "ALLOWED"), 5*time.Second)
	if !eval[bool](t, b, `document.getElementById("unguarded").hidden`) {
		t.Error("the unguarded section shows with no unguarded host")
	}
	uid := 1001
	report(apiv1.BridgeBody{Scopes: []apiv1.Scope{"global"}, Since: time.Now(), Releaser: "bob", User: "bob", UID: &uid, Reason: "urgent security fix"})
	waitFor(t, b, "the host shows as unguarded", `!document.getElementById("unguarded").hidden &&
		document.querySelector('#unguarded-table tr[data-host="deploy1001"]') !== null &&
		document.querySelector('#unguarded-table tr[data-host="deploy1001"]').textContent.includes("bob (user bob, uid 1001)") &&
		document.querySelector('#unguarded-table tr[data-host="deploy1001"]').textContent.includes("urgent security fix")`, 10*time.Second)
	report(apiv1.BridgeBody{Guarded: true, Scopes: []apiv1.Scope{"global"}, Reason: "the bridge took scap's lock again"})
	waitFor(t, b, "the host is guarded again", `document.getElementById("unguarded").hidden`, 10*time.Second)
	for _, p := range b.problems() {
		t.Errorf("page problem: %s", p)
	}
}
