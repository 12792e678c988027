// Command kube-apiserver is Kubernetes' own apiserver, built from the
// module proxy at the version go.mod pins, for scaplock's e2e test.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
