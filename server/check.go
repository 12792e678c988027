package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/health"
)

// checkFiles reads and parses every file the configuration names, the way
// start-up will: the clusters file and the CA, certificate and token files
// it names, the JWT key and the etcd TLS files. It starts nothing. A
// variable that already has a problem (reported) is not read again, so
// that one mistake gives one line.
func (c Config) checkFiles(reported []error) []error {
	var errs []error
	check := func(names []string, read func() error) {
		for _, r := range reported {
			for _, name := range names {
				if strings.Contains(r.Error(), name) {
					return
				}
			}
		}
		if err := read(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ClustersFile != "" {
		check([]string{"SCAPLOCK_CLUSTERS_FILE", "SCAPLOCK_GATE_MODE"}, func() error { _, err := LoadClusters(c); return err })
	}
	if c.JWTSecretFile != "" || c.JWTPublicKeyFile != "" {
		check([]string{"SCAPLOCK_JWT_SECRET_FILE", "SCAPLOCK_JWT_PUBLIC_KEY_FILE"}, func() error {
			_, err := api.NewAuthenticator(api.AuthConfig{SecretFile: c.JWTSecretFile, PublicKeyFile: c.JWTPublicKeyFile})
			return err
		})
	}
	check([]string{"SCAPLOCK_ETCD_CA_FILE", "SCAPLOCK_ETCD_CERT_FILE", "SCAPLOCK_ETCD_KEY_FILE"}, func() error { _, err := etcdTLS(c); return err })
	if c.EtcdPeerCertFile != "" {
		check([]string{"SCAPLOCK_ETCD_PEER_CERT_FILE", "SCAPLOCK_ETCD_PEER_KEY_FILE"}, func() error {
			if _, err := tls.LoadX509KeyPair(c.EtcdPeerCertFile, c.EtcdPeerKeyFile); err != nil {
				return fmt.Errorf("SCAPLOCK_ETCD_PEER_CERT_FILE: %w", err)
			}
			return nil
		})
	}
	if c.EtcdPeerCAFile != "" {
		check([]string{"SCAPLOCK_ETCD_PEER_CA_FILE"}, func() error {
			if pem, err := os.ReadFile(c.EtcdPeerCAFile); err != nil || !x509.NewCertPool().AppendCertsFromPEM(pem) {
				return fmt.Errorf("SCAPLOCK_ETCD_PEER_CA_FILE: no certificates in %s", c.EtcdPeerCAFile)
			}
			return nil
		})
	}
	return errs
}

// LoadClusters reads the clusters file with SCAPLOCK_GATE_MODE applied and
// checks that a prober can be built for each cluster (its CA, client
// certificate and bearer token files read). Errors name the variable, then
// the field in the file.
func LoadClusters(c Config) (health.Config, error) {
	hc, err := health.LoadConfig(c.ClustersFile)
	if err != nil {
		return health.Config{}, health.PrefixEach("SCAPLOCK_CLUSTERS_FILE", err)
	}
	if c.GateMode != "" {
		hc.Mode = health.Mode(c.GateMode)
	}
	for _, cl := range hc.Clusters {
		if _, err := health.NewProber(cl); err != nil {
			return health.Config{}, fmt.Errorf("SCAPLOCK_CLUSTERS_FILE: %s: %w", c.ClustersFile, err)
		}
	}
	return hc, nil
}
