package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// unlockRequest is the JSON scap lock --unlock-all writes into its signal file.
type unlockRequest struct {
	Releaser string `json:"releaser"`
	Reason   string `json:"reason"`
}

// signalGoneWithin bounds the wait for scap to remove its signal file after
// the acknowledgement (scap itself gives up after 5s).
const signalGoneWithin = 10 * time.Second

// honourUnlockAll answers scap lock --unlock-all while the bridge holds the
// lock, by scap's handshake: create the acknowledgement file, wait until
// the signal file is gone, release, remove the acknowledgement. The bridge
// then stays out until the refusal changes. A signal file older than the
// lock is someone else's leftover and is not obeyed.
func (b *bridge) honourUnlockAll(ctx context.Context) {
	info, err := os.Stat(b.cfg.signalFile)
	if err != nil {
		return
	}
	if info.ModTime().Before(b.heldSince.Add(-time.Second)) {
		if !b.staleSignal {
			b.log.Warn("ignoring an unlock-all signal file older than the lock", "file", b.cfg.signalFile, "mtime", info.ModTime().UTC().Format(time.RFC3339))
			b.staleSignal = true
		}
		return
	}
	var req unlockRequest
	if raw, err := os.ReadFile(b.cfg.signalFile); err == nil {
		_ = json.Unmarshal(raw, &req) // an unreadable request still asks to release
	}
	uid, user := fileOwner(info)
	if err := os.WriteFile(b.cfg.ackFile, nil, 0o644); err != nil {
		b.log.Error("cannot acknowledge scap lock --unlock-all", "ack_file", b.cfg.ackFile, "err", err)
		return
	}
	deadline := time.NewTimer(signalGoneWithin)
	defer deadline.Stop()
	tick := time.NewTicker(b.cfg.retry)
	defer tick.Stop()
wait:
	for {
		if _, err := os.Stat(b.cfg.signalFile); os.IsNotExist(err) {
			break
		}
		select {
		case <-ctx.Done():
			break wait
		case <-deadline.C:
			b.log.Warn("the unlock-all signal file is still there; releasing anyway", "file", b.cfg.signalFile)
			break wait
		case <-tick.C:
		}
	}
	released := decide(b.obs, b.releasedFor, b.now(), b.cfg.policy).refusal
	if err := b.lf.release(); err != nil {
		b.log.Error("releasing scap's lock for unlock-all", "err", err)
	}
	if err := os.Remove(b.cfg.ackFile); err != nil && !os.IsNotExist(err) {
		b.log.Warn("removing the acknowledgement file", "file", b.cfg.ackFile, "err", err)
	}
	b.releasedFor = released.id
	b.log.Warn("released scap's global lock at a person's request (scap lock --unlock-all); staying out until the refusal changes",
		"releaser", req.Releaser, "why", req.Reason, "refusal", released.reason)
	at := b.now().UTC()
	b.state.update(func(s *bridgeStateView) {
		s.ReleasedBy = &releaseView{Releaser: req.Releaser, Reason: req.Reason, At: at}
	})
	b.unguarded = true
	b.reports.send(apiv1.BridgeBody{Since: at, Releaser: req.Releaser, User: user, UID: uid, Reason: req.Reason})
}

// guardAgain tells the service when the bridge, released by a person,
// guards scap's lock again: a new refusal (it takes or waits for the
// lock), or deploys allowed.
func (b *bridge) guardAgain(t target) {
	if !b.unguarded || t.released {
		return
	}
	b.unguarded = false
	why := "deploys allowed again; the bridge guards scap's lock again"
	switch {
	case b.lf.held:
		why = "the bridge took scap's lock again: " + b.written.Reason
	case t.hold:
		why = "the bridge guards scap's lock again (waiting for it): " + t.refusal.reason
	}
	b.log.Info("guarding scap's lock again after a person's unlock-all", "why", why)
	b.reports.send(apiv1.BridgeBody{Guarded: true, Reason: why})
}
