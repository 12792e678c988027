package server_test

import (
	"os"
	"testing"

	"github.com/scaplock/scaplock/server/servertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.RemoveBuilt()
	os.Exit(code)
}
