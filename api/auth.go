package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scaplock/scaplock/api/token"
	apiv1 "github.com/scaplock/scaplock/api/v1"
	"github.com/scaplock/scaplock/lock"
)

// Roles a token may carry.
const (
	RoleDeployer = apiv1.RoleDeployer
	RoleSRE      = apiv1.RoleSRE
	RoleAdmin    = apiv1.RoleAdmin
)

// Principal is who made a request.
type Principal struct {
	Subject string
	Roles   []string
}

// Has reports whether p has role; admin has every role.
func (p Principal) Has(role string) bool {
	return slices.Contains(p.Roles, role) || slices.Contains(p.Roles, RoleAdmin)
}

// Authenticator verifies bearer tokens with one pinned algorithm.
type Authenticator struct {
	method   string
	key      any
	issuer   string
	audience string
}

// AuthConfig says how tokens are verified. Exactly one of SecretFile
// (HS256) and PublicKeyFile (RS256, ES256 or EdDSA, by the key's type) is set.
type AuthConfig struct {
	SecretFile    string
	PublicKeyFile string
	Issuer        string
	Audience      string
}

// NewAuthenticator loads the key and pins the algorithm it implies.
func NewAuthenticator(c AuthConfig) (*Authenticator, error) {
	a := &Authenticator{issuer: c.Issuer, audience: c.Audience}
	switch {
	case c.SecretFile != "" && c.PublicKeyFile != "":
		return nil, fmt.Errorf("set only one of SCAPLOCK_JWT_SECRET_FILE and SCAPLOCK_JWT_PUBLIC_KEY_FILE")
	case c.SecretFile != "":
		secret, err := token.ReadSecret(c.SecretFile)
		if err != nil {
			return nil, err
		}
		a.method, a.key = jwt.SigningMethodHS256.Alg(), secret
	case c.PublicKeyFile != "":
		raw, err := os.ReadFile(c.PublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("SCAPLOCK_JWT_PUBLIC_KEY_FILE: %w", err)
		}
		block, _ := pem.Decode(raw)
		if block == nil {
			return nil, fmt.Errorf("SCAPLOCK_JWT_PUBLIC_KEY_FILE: %s holds no PEM block", c.PublicKeyFile)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("SCAPLOCK_JWT_PUBLIC_KEY_FILE: %w", err)
		}
		switch k := pub.(type) {
		case *rsa.PublicKey:
			a.method = jwt.SigningMethodRS256.Alg()
		case *ecdsa.PublicKey:
			if k.Curve.Params().BitSize != 256 {
				return nil, fmt.Errorf("SCAPLOCK_JWT_PUBLIC_KEY_FILE: only P-256 keys (ES256) are supported")
			}
			a.method = jwt.SigningMethodES256.Alg()
		case ed25519.PublicKey:
			a.method = jwt.SigningMethodEdDSA.Alg()
		default:
			return nil, fmt.Errorf("SCAPLOCK_JWT_PUBLIC_KEY_FILE: unsupported key type %T", pub)
		}
		a.key = pub
	default:
		return nil, fmt.Errorf("no JWT key configured: set SCAPLOCK_JWT_SECRET_FILE or SCAPLOCK_JWT_PUBLIC_KEY_FILE")
	}
	return a, nil
}

// Method is the pinned signing algorithm.
func (a *Authenticator) Method() string { return a.method }

// Verify checks a token and returns who it names. exp is required; iss and
// aud are checked when configured; only the pinned algorithm is accepted.
func (a *Authenticator) Verify(raw string) (Principal, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{a.method}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(30 * time.Second),
	}
	if a.issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.issuer))
	}
	if a.audience != "" {
		opts = append(opts, jwt.WithAudience(a.audience))
	}
	var claims token.Claims
	_, err := jwt.NewParser(opts...).ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return a.key, nil })
	if err != nil {
		return Principal{}, fmt.Errorf("%w: token rejected: %v", errUnauthorized, err)
	}
	if claims.Subject == "" {
		return Principal{}, fmt.Errorf("%w: token has no sub", errUnauthorized)
	}
	return Principal{Subject: claims.Subject, Roles: claims.Roles}, nil
}

type principalKey struct{}

// authenticate puts the request's principal, if any, in its context. A
// present but bad token is refused outright, even on anonymous reads.
func (a *Authenticator) authenticate(onError func(http.ResponseWriter, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			if h == "" {
				next.ServeHTTP(w, r)
				return
			}
			token, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				onError(w, fmt.Errorf("%w: Authorization must be \"Bearer <token>\"", errUnauthorized))
				return
			}
			p, err := a.Verify(strings.TrimSpace(token))
			if err != nil {
				onError(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

// principal returns the authenticated principal of the request.
func principal(r *http.Request) (Principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(Principal)
	return p, ok
}

// require lets the request through only with a token carrying one of roles
// (no roles: any valid token).
func require(onError func(http.ResponseWriter, error), roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := principal(r)
			if !ok {
				onError(w, fmt.Errorf("%w: this needs a bearer token", errUnauthorized))
				return
			}
			if len(roles) > 0 && !slices.ContainsFunc(roles, p.Has) {
				onError(w, fmt.Errorf("%s lacks role %s: %w", p.Subject, strings.Join(roles, " or "), lock.ErrForbidden))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
