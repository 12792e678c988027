package apiv1

import (
	"encoding/json"
	"testing"
)

// A shared change is encoded once, whichever copy sends it, and encodes
// exactly as the plain change does.
func TestSharedChangeEncodesOnce(t *testing.T) {
	c := Change{Type: ChangeLeader, Leader: "r2", Revision: 42}
	plain, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	shared := c.Shared()
	a, b := shared, shared // what two streams receive: copies
	da, err := a.JSON()
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(da) != string(plain) || string(db) != string(plain) {
		t.Fatalf("shared JSON %s / %s, plain %s", da, db, plain)
	}
	if &da[0] != &db[0] {
		t.Fatal("two copies of one shared change were encoded twice")
	}
	unshared, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(unshared) != string(plain) {
		t.Fatalf("unshared JSON %s, want %s", unshared, plain)
	}
}
