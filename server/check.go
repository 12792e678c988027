package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/health"
)

// checkFiles reads and parses every file the configuration names, the way
// start-up will: the clusters file and the CA, certificate and token files
// it names, the JWT key and the etcd TLS files. It starts nothing.
func (c Config) checkFiles() error {
	var errs []error
	if c.ClustersFile != "" {
		if _, err := LoadClusters(c); err != nil {
			errs = append(errs, err)
		}
	}
	if c.JWTSecretFile != "" || c.JWTPublicKeyFile != "" {
		_, err := api.NewAuthenticator(api.AuthConfig{SecretFile: c.JWTSecretFile, PublicKeyFile: c.JWTPublicKeyFile})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := etcdTLS(c); err != nil {
		errs = append(errs, err)
	}
	if c.EtcdPeerCertFile != "" {
		if _, err := tls.LoadX509KeyPair(c.EtcdPeerCertFile, c.EtcdPeerKeyFile); err != nil {
			errs = append(errs, fmt.Errorf("SCAPLOCK_ETCD_PEER_CERT_FILE: %w", err))
		}
	}
	if c.EtcdPeerCAFile != "" {
		if pem, err := os.ReadFile(c.EtcdPeerCAFile); err != nil || !x509.NewCertPool().AppendCertsFromPEM(pem) {
			errs = append(errs, fmt.Errorf("SCAPLOCK_ETCD_PEER_CA_FILE: no certificates in %s", c.EtcdPeerCAFile))
		}
	}
	return errors.Join(errs...)
}

// LoadClusters reads the clusters file with SCAPLOCK_GATE_MODE applied and
// checks that a prober can be built for each cluster (its CA, client
// certificate and bearer token files read). Errors name the variable, then
// the field in the file.
func LoadClusters(c Config) (health.Config, error) {
	hc, err := health.LoadConfig(c.ClustersFile)
	if err != nil {
		return health.Config{}, fmt.Errorf("SCAPLOCK_CLUSTERS_FILE: %w", err)
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
