// Package token mints and reads scaplock's JWTs: the claims, the HS256
// secret file, and signing. It is what `scaplock token` links, so it
// imports golang-jwt and the standard library only; verifying tokens is the
// API's business (api.Authenticator).
package token

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are scaplock's JWT claims: sub is the actor, roles its rights.
type Claims struct {
	Roles []string `json:"roles"`
	jwt.RegisteredClaims
}

// MinSecretBytes is the shortest HS256 secret accepted.
const MinSecretBytes = 32

// DefaultMaxTTL is the longest token lifetime scaplockd accepts unless
// SCAPLOCK_JWT_MAX_TTL says otherwise, and the longest `scaplock token` mints.
const DefaultMaxTTL = 30 * 24 * time.Hour

// SubjectMaxLen bounds sub, which is written into every hold and event.
const SubjectMaxLen = 128

// ValidateSubject checks a token's sub: not blank, valid UTF-8, at most
// SubjectMaxLen bytes, printable characters only (it reaches terminals).
func ValidateSubject(sub string) error {
	switch {
	case strings.TrimSpace(sub) == "":
		return fmt.Errorf("sub is blank")
	case len(sub) > SubjectMaxLen:
		return fmt.Errorf("sub is %d bytes, more than %d", len(sub), SubjectMaxLen)
	case !utf8.ValidString(sub):
		return fmt.Errorf("sub is not valid UTF-8")
	case strings.IndexFunc(sub, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("sub %s has characters that are not printable", strconv.QuoteToASCII(sub))
	}
	return nil
}

// ReadSecret reads an HS256 secret file, trimmed of surrounding whitespace.
// Its errors name the file as SCAPLOCK_JWT_SECRET_FILE, the service's name.
func ReadSecret(path string) ([]byte, error) {
	return ReadSecretNamed("SCAPLOCK_JWT_SECRET_FILE", path)
}

// ReadSecretNamed is ReadSecret naming the file in errors as the caller
// was given it (scaplock token's --secret-file).
func ReadSecretNamed(name, path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	secret := []byte(strings.TrimSpace(string(raw)))
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("%s: %s holds %d bytes, need at least %d", name, path, len(secret), MinSecretBytes)
	}
	return secret, nil
}

// SignHS256 mints a token the way operators do with `scaplock token`; it
// refuses a sub scaplockd would refuse and a ttl over DefaultMaxTTL.
func SignHS256(secret []byte, sub string, roles []string, ttl time.Duration, now time.Time) (string, error) {
	if err := ValidateSubject(sub); err != nil {
		return "", err
	}
	if ttl <= 0 || ttl > DefaultMaxTTL {
		return "", fmt.Errorf("ttl %s is outside (0, %s]: scaplockd refuses longer-lived tokens", ttl, DefaultMaxTTL)
	}
	claims := Claims{Roles: roles, RegisteredClaims: jwt.RegisteredClaims{
		Subject: sub, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}
