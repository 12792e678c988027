package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Mint is what a token says about its bearer.
type Mint struct {
	Sub      string
	Roles    []string
	TTL      time.Duration
	Issuer   string // iss, when the service checks it
	Audience string // aud, when the service checks it
}

func (m Mint) claims(now time.Time) Claims {
	c := Claims{Roles: m.Roles, RegisteredClaims: jwt.RegisteredClaims{
		Subject: m.Sub, Issuer: m.Issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(m.TTL)),
	}}
	if m.Audience != "" {
		c.Audience = jwt.ClaimStrings{m.Audience}
	}
	return c
}

// PrivateKey is a signing key read from a PEM file and the algorithm its
// type implies: RS256 for RSA, ES256 for P-256, EdDSA for Ed25519.
type PrivateKey struct {
	method jwt.SigningMethod
	key    any
}

// Algorithm is the JWT "alg" the key signs with.
func (k PrivateKey) Algorithm() string { return k.method.Alg() }

// ReadPrivateKey reads a PEM private key (PKCS#8, or SEC 1 / PKCS#1).
// The service verifies its tokens with the matching public key
// (SCAPLOCK_JWT_PUBLIC_KEY_FILE), so no replica can mint.
func ReadPrivateKey(path string) (PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return PrivateKey{}, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return PrivateKey{}, fmt.Errorf("%s holds no PEM block", path)
	}
	var key any
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return PrivateKey{}, fmt.Errorf("%s: %w", path, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return PrivateKey{}, fmt.Errorf("%s: RSA keys need at least 2048 bits, this one has %d", path, k.N.BitLen())
		}
		return PrivateKey{method: jwt.SigningMethodRS256, key: k}, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return PrivateKey{}, fmt.Errorf("%s: only P-256 EC keys (ES256) are supported", path)
		}
		return PrivateKey{method: jwt.SigningMethodES256, key: k}, nil
	case ed25519.PrivateKey:
		return PrivateKey{method: jwt.SigningMethodEdDSA, key: k}, nil
	}
	return PrivateKey{}, fmt.Errorf("%s: a %T cannot sign scaplock tokens (RSA, P-256 or Ed25519)", path, key)
}

// Sign mints a token with the private key.
func (k PrivateKey) Sign(m Mint, now time.Time) (string, error) {
	return jwt.NewWithClaims(k.method, m.claims(now)).SignedString(k.key)
}

// SignSecret mints an HS256 token with the secret, with iss and aud.
func SignSecret(secret []byte, m Mint, now time.Time) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, m.claims(now)).SignedString(secret)
}
