package apiv1

import "testing"

func TestFormatValue(t *testing.T) {
	tests := []struct {
		sig  Signal
		v    float64
		want string
	}{
		{SignalLatency, 4.2, "4.2s"},
		{SignalLatency, 1, "1s"},
		{SignalLatency, 0.85, "850ms"},
		{SignalLatency, 0.0004, "0ms"},
		{SignalLatency, 12.345, "12.3s"},
		{SignalCPU, 0.98, "98%"},
		{SignalCPU, 0.9, "90%"},
		{SignalNIC, 1.234, "123%"},
		{SignalRetransmits, 6012.4, "6012/s"},
		{SignalRetransmits, 1000, "1000/s"},
		{SignalRetransmits, 0.25, "0.3/s"},
	}
	for _, tt := range tests {
		t.Run(string(tt.sig)+" "+tt.want, func(t *testing.T) {
			if got := FormatValue(tt.sig, tt.v); got != tt.want {
				t.Errorf("FormatValue(%s, %v) = %q, want %q", tt.sig, tt.v, got, tt.want)
			}
		})
	}
}

func TestShortHost(t *testing.T) {
	tests := map[string]string{
		"kubemaster1002.eqiad.wmnet:6443": "kubemaster1002:6443",
		"kubemaster1002:6443":             "kubemaster1002:6443",
		"127.0.0.1:6443":                  "127.0.0.1:6443",
		"[::1]:6443":                      "[::1]:6443",
		"kubemaster1002.eqiad.wmnet":      "kubemaster1002",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := ShortHost(in); got != want {
				t.Errorf("ShortHost(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
