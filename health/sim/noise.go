package sim

import "math"

var inf = math.Inf(1)

// Signals that draw their own noise, so they do not move in lockstep.
const (
	noiseCPU uint64 = iota + 1
	noiseRetransmits
	noiseNIC
	noiseLatency
	noiseLoopback
)

// unit returns a number in [0, 1) that depends only on seed and parts: the
// scenario's only source of randomness, so values are reproducible.
func unit(seed uint64, parts ...uint64) float64 {
	h := splitmix(seed)
	for _, p := range parts {
		h = splitmix(h ^ p)
	}
	return float64(h>>11) / (1 << 53)
}

// splitmix is the SplitMix64 finaliser.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hostKey turns a host name into noise input, so renaming or reordering
// hosts changes their noise but adding a host does not change the others'.
func hostKey(name string) uint64 {
	var h uint64 = 14695981039346656037 // FNV-1a
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h
}

// jitter is the multiplicative noise factor 1 ± amplitude for one signal of
// one host during one second of scenario time.
func (s *Scenario) jitter(hostName string, signal uint64, second int64) float64 {
	if s.baseline.noise == 0 {
		return 1
	}
	return 1 + s.baseline.noise*(2*unit(s.seed, hostKey(hostName), signal, uint64(second))-1)
}
