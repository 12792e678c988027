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

// cmdToken mints a token: HS256 from the service's secret file, or signed
// with a private key whose public half the service verifies with. It reads
// only that file and talks to no service.
func cmdToken(_ context.Context, c *cli, args []string) int {
	fs := c.newFlagSet("token", "token --secret-file F|--private-key-file F --sub NAME --roles sre,deployer [--ttl 1h]",
		`The secret file is scaplockd's SCAPLOCK_JWT_SECRET_FILE (or jwt.secret in its
data dir). In production the service holds only a public key
(SCAPLOCK_JWT_PUBLIC_KEY_FILE) and tokens are minted where the private key
is kept (docs/production.md). The token is printed alone on stdout:
  scaplock token --private-key-file jwt-private.pem --sub deploy1001 --roles deployer --ttl 720h > deploy1001.token
scaplockd refuses tokens living longer than SCAPLOCK_JWT_MAX_TTL (720h by
default); --max-ttl raises this command's bound to match the service's.`)
	secretFile := fs.String("secret-file", "", "HS256 secret `file` (this or --private-key-file)")
	keyFile := fs.String("private-key-file", "", "Ed25519, P-256 or RSA private key `file` (PEM): signs EdDSA, ES256 or RS256 for a service verifying with the public key")
	issuer := fs.String("issuer", "", "iss claim, when the service checks SCAPLOCK_JWT_ISSUER")
	audience := fs.String("audience", "", "aud claim, when the service checks SCAPLOCK_JWT_AUDIENCE")
	sub := fs.String("sub", "", "identity written into holds and history (required)")
	roles := fs.String("roles", "", "comma-separated roles: deployer, sre, admin (required)")
	ttl := durationOpt(fs, "ttl", time.Hour, "how long the token is valid (at most --max-ttl)")
	maxTTL := durationOpt(fs, "max-ttl", token.DefaultMaxTTL, "the longest --ttl: the service's SCAPLOCK_JWT_MAX_TTL")
	if stop, code := parseNoArgs(fs, args); stop {
		return code
	}
	list, err := parseRoles(*roles)
	switch {
	case (*secretFile == "") == (*keyFile == ""):
		return usageError(fs, "give one of --secret-file (HS256) or --private-key-file")
	case *sub == "":
		return usageError(fs, "--sub is required")
	case token.ValidateSubject(*sub) != nil:
		return usageError(fs, "--sub: %v", token.ValidateSubject(*sub))
	case err != nil:
		return usageError(fs, "--roles: %v", err)
	case *ttl <= 0:
		return usageError(fs, "--ttl must be positive, got %s", formatDuration(*ttl))
	case *ttl > *maxTTL:
		return usageError(fs, "--ttl %s is longer than %s, the most the service accepts (SCAPLOCK_JWT_MAX_TTL; --max-ttl if it is set higher)", formatDuration(*ttl), formatDuration(*maxTTL))
	}
	m := token.Mint{Sub: *sub, Roles: list, TTL: *ttl, Issuer: *issuer, Audience: *audience}
	var signed string
	if *keyFile != "" {
		key, err := token.ReadPrivateKey(*keyFile)
		if err != nil {
			return c.failLocal(fmt.Errorf("--private-key-file: %w", err))
		}
		signed, err = key.Sign(m, c.now())
		if err != nil {
			return c.failLocal(err)
		}
	} else {
		secret, err := token.ReadSecretNamed("--secret-file", *secretFile)
		if err != nil {
			return c.failLocal(err)
		}
		if signed, err = token.SignSecret(secret, m, c.now()); err != nil {
			return c.failLocal(err)
		}
	}
	token := signed
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
