// Package token mints and reads scaplock's JWTs: the claims, the HS256
// secret file, and signing. It is what `scaplock token` links, so it
// imports golang-jwt and the standard library only; verifying tokens is the
// API's business (api.Authenticator).
package token

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are scaplock's JWT claims: sub is the actor, roles its rights.
type Claims struct {
	Roles []string `json:"roles"`
	jwt.RegisteredClaims
}

// MinSecretBytes is the shortest HS256 secret accepted.
const MinSecretBytes = 32

// ReadSecret reads an HS256 secret file, trimmed of surrounding whitespace.
func ReadSecret(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("SCAPLOCK_JWT_SECRET_FILE: %w", err)
	}
	secret := []byte(strings.TrimSpace(string(raw)))
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("SCAPLOCK_JWT_SECRET_FILE: %s holds %d bytes, need at least %d", path, len(secret), MinSecretBytes)
	}
	return secret, nil
}

// SignHS256 mints a token the way operators do with `scaplock token`.
func SignHS256(secret []byte, sub string, roles []string, ttl time.Duration, now time.Time) (string, error) {
	claims := Claims{Roles: roles, RegisteredClaims: jwt.RegisteredClaims{
		Subject: sub, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
