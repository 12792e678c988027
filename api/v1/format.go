package apiv1

import (
	"math"
	"net"
	"strconv"
	"strings"
)

// FormatValue writes a signal's value as people read it: latency as "850ms"
// or "4.2s", CPU and NIC as "98%", retransmits as "6012/s". It is the one
// place values are formatted, for the refusal message, the reason and the
// config errors alike.
func FormatValue(s Signal, v float64) string {
	switch s {
	case SignalLatency:
		if v < 1 {
			return decimal(v*1000, 0) + "ms"
		}
		return decimal(v, 1) + "s"
	case SignalCPU, SignalNIC:
		return decimal(v*100, 0) + "%"
	case SignalRetransmits:
		if v < 10 {
			return decimal(v, 1) + "/s"
		}
		return decimal(v, 0) + "/s"
	}
	return decimal(v, 2)
}

// decimal rounds v to at most places decimals and drops trailing zeros.
func decimal(v float64, places int) string {
	p := math.Pow(10, float64(places))
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
}

// SignalLabel is how a signal is called in messages.
func SignalLabel(s Signal) string {
	switch s {
	case SignalLatency:
		return "readyz"
	case SignalCPU:
		return "CPU"
	case SignalRetransmits:
		return "TCP retransmits"
	case SignalNIC:
		return "NIC egress"
	}
	return string(s)
}

// ShortHost drops the domain from a host:port, as in "kubemaster1002:6443"
// for "kubemaster1002.eqiad.wmnet:6443". IP addresses are kept whole.
func ShortHost(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	if net.ParseIP(host) == nil {
		if i := strings.IndexByte(host, '.'); i > 0 {
			host = host[:i]
		}
	}
	if port == "" {
		return host
	}
	return net.JoinHostPort(host, port)
}
