package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scaplock/scaplock/api/token"
	apiv1 "github.com/scaplock/scaplock/api/v1"
)

var knownRoles = []string{apiv1.RoleDeployer, apiv1.RoleSRE, apiv1.RoleAdmin}

// cmdToken mints an HS256 token. It reads only the secret file and talks
// to no service.
func cmdToken(_ context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("token", "token --secret-file F --sub NAME --roles sre,deployer [--ttl 1h]",
		`The secret file is scaplockd's SCAPLOCK_JWT_SECRET_FILE (or jwt.secret in its
data dir). The token is printed alone on stdout:
  export SCAPLOCK_TOKEN=$(scaplock token --secret-file /etc/scaplock/jwt.secret --sub alice --roles sre)`)
	secretFile := fs.String("secret-file", "", "HS256 secret file (required)")
	sub := fs.String("sub", "", "identity written into holds and history (required)")
	roles := fs.String("roles", "", "comma-separated roles: deployer, sre, admin (required)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	pos, stop, code := parse(fs, args)
	if stop {
		return code
	}
	if len(pos) > 0 {
		return usageError(fs, "unexpected argument %q", pos[0])
	}
	list, err := parseRoles(*roles)
	switch {
	case *secretFile == "":
		return usageError(fs, "--secret-file is required")
	case strings.TrimSpace(*sub) == "":
		return usageError(fs, "--sub is required")
	case err != nil:
		return usageError(fs, "--roles: %v", err)
	case *ttl <= 0:
		return usageError(fs, "--ttl must be positive, got %s", *ttl)
	}
	secret, err := token.ReadSecret(*secretFile)
	if err != nil {
		return c.failLocal(err)
	}
	token, err := token.SignHS256(secret, *sub, list, *ttl, c.now())
	if err != nil {
		return c.failLocal(err)
	}
	fmt.Fprintln(c.stdout, token)
	return exitOK
}

// parseRoles splits a comma-separated role list and checks every role.
func parseRoles(s string) ([]string, error) {
	var roles []string
	for r := range strings.SplitSeq(s, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !slices.Contains(knownRoles, r) {
			return nil, fmt.Errorf("%q is not one of %s", r, strings.Join(knownRoles, ", "))
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("at least one role is required (%s)", strings.Join(knownRoles, ", "))
	}
	return roles, nil
}

// failLocal reports a local mistake (an unreadable secret file); exit 3.
func (c *cli) failLocal(err error) int {
	fmt.Fprintln(c.stderr, "scaplock:", err)
	return exitMisuse
}
