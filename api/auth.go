package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
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
	maxTTL   time.Duration
}

// AuthConfig says how tokens are verified. Exactly one of SecretFile
// (HS256) and PublicKeyFile (RS256, ES256 or EdDSA, by the key's type) is set.
type AuthConfig struct {
	SecretFile    string
	PublicKeyFile string
	Issuer        string
	Audience      string
	// MaxTTL is the longest lifetime accepted: exp - iat, or exp - now
	// without iat. Required (SCAPLOCK_JWT_MAX_TTL sets it): zero accepts
	// no token.
	MaxTTL time.Duration
}

// NewAuthenticator loads the key and pins the algorithm it implies.
func NewAuthenticator(c AuthConfig) (*Authenticator, error) {
	a := &Authenticator{issuer: c.Issuer, audience: c.Audience, maxTTL: c.MaxTTL}
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

// leeway is the clock skew allowed on nbf and iat, so that a token minted
// on a host whose clock runs a little ahead works at once. exp has none: an
// expired token is refused from its expiry on, as the README says.
const leeway = 30 * time.Second

// Verify checks a token and returns who it names. exp is required and a
// number, as iat and nbf are when present; iat is not in the future; the
// lifetime is at most MaxTTL; sub is printable and bounded; iss and aud
// are checked when configured; only the pinned algorithm is accepted.
func (a *Authenticator) Verify(raw string) (Principal, error) {
	return a.verify(raw, time.Now())
}

func (a *Authenticator) verify(raw string, now time.Time) (Principal, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{a.method}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	if a.issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.issuer))
	}
	if a.audience != "" {
		opts = append(opts, jwt.WithAudience(a.audience))
	}
	var claims token.Claims
	tok, err := jwt.NewParser(opts...).ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return a.key, nil })
	if err != nil {
		return Principal{}, fmt.Errorf("%w: token rejected: %v", errUnauthorized, err)
	}
	if err := numericDates(tok.Raw); err != nil {
		return Principal{}, fmt.Errorf("%w: token rejected: %v", errUnauthorized, err)
	}
	// The parser's leeway covers exp too; exp gets none.
	if !now.Before(claims.ExpiresAt.Time) {
		return Principal{}, fmt.Errorf("%w: token rejected: %v (at %s)", errUnauthorized, jwt.ErrTokenExpired, claims.ExpiresAt.UTC().Format(time.RFC3339))
	}
	from := now
	if claims.IssuedAt != nil {
		from = claims.IssuedAt.Time
	}
	if life := claims.ExpiresAt.Sub(from); life > a.maxTTL+leeway {
		return Principal{}, fmt.Errorf("%w: token rejected: it lives %s, more than the %s allowed (SCAPLOCK_JWT_MAX_TTL)", errUnauthorized, life.Round(time.Second), a.maxTTL)
	}
	if err := token.ValidateSubject(claims.Subject); err != nil {
		return Principal{}, fmt.Errorf("%w: token rejected: %v", errUnauthorized, err)
	}
	return Principal{Subject: claims.Subject, Roles: claims.Roles}, nil
}

// numericDates checks that exp, iat and nbf are JSON numbers: golang-jwt
// also reads a string holding a number ("exp":"99999999999").
func numericDates(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a signed JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("claims are not base64url")
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return fmt.Errorf("claims are not a JSON object")
	}
	for _, name := range []string{"exp", "iat", "nbf"} {
		v, ok := claims[name]
		if !ok {
			continue
		}
		var n json.Number
		if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || json.Unmarshal(v, &n) != nil {
			return fmt.Errorf("%s must be a number of seconds, got %s", name, truncate(string(v), 40))
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return strconv.QuoteToASCII(s[:n]) + "..."
	}
	return strconv.QuoteToASCII(s)
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
