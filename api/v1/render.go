package apiv1

import (
	"fmt"
	"strings"
	"time"
)

// RenderRefusal is the refusal as people read it: what refuses deploys to
// scopes, why, since when and what ends it, one reason after another, then
// where the status page is (statusURL may be empty). It is the one place
// the text is made: the service sends it as "message", and the CLI, the
// bridge and the page show it, adding only their own hints. It is empty
// when no reason refuses.
//
//	scaplock: deploys to eqiad are refused: control plane degraded
//	  kubemaster1002:6443  readyz 4.2s (limit 1s)  CPU 98% (limit 90%)  for 45s
//	  held automatically since 12:49:12 UTC (45s ago, hold auto-eqiad); clears after 1m healthy
//	  status: http://scaplock.example/
func RenderRefusal(scopes []Scope, reasons []Reason, statusURL string, now time.Time) string {
	return RenderRefusalAsOf(scopes, reasons, statusURL, now, time.Time{})
}

// RenderRefusalAsOf is RenderRefusal for a refusal etcd could not
// confirm: the replica's last confirmed state, of confirmed, refuses, and
// the first line says how old that is. A zero confirmed is RenderRefusal.
func RenderRefusalAsOf(scopes []Scope, reasons []Reason, statusURL string, now, confirmed time.Time) string {
	lines := refusalLines(scopes, reasons, stamper{now: now, live: true})
	if lines == nil {
		return ""
	}
	if !confirmed.IsZero() {
		lines[0] += fmt.Sprintf(" (last confirmed %s ago; etcd is not answering)", Span(now.Sub(confirmed)))
	}
	if statusURL != "" {
		lines = append(lines, "status: "+statusURL)
	}
	return lines[0] + "\n  " + strings.Join(lines[1:], "\n  ") + "\n"
}

// RenderRefusalLine is RenderRefusal on one line and without ages, for
// text that is read later than it is written (the bridge's lock file):
//
//	deploys to global are refused: locked by alice; global: "T1234", since 08:33:59 UTC (hold 8216), expires 09:33:59 UTC
func RenderRefusalLine(scopes []Scope, reasons []Reason, now time.Time) string {
	lines := refusalLines(scopes, reasons, stamper{now: now})
	if lines == nil {
		return ""
	}
	lines[0] = strings.TrimPrefix(lines[0], "scaplock: ")
	return strings.Join(lines, "; ")
}

// Summary is the short why of a refusal: the first refusing reason's,
// e.g. "control plane degraded"; "allowed" when none refuses.
func Summary(reasons []Reason) string {
	for _, r := range reasons {
		if r.Refuses {
			return r.summary()
		}
	}
	return "allowed"
}

func refusalLines(scopes []Scope, reasons []Reason, st stamper) []string {
	var lines []string
	for _, r := range reasons {
		if !r.Refuses {
			continue
		}
		if lines == nil {
			head := r.summary()
			if r.Kind == ReasonWindow {
				head = r.windowHeadline(st.now)
			}
			lines = []string{fmt.Sprintf("scaplock: deploys to %s are refused: %s", joinScopes(scopes), head)}
		} else {
			lines = append(lines, "also: "+r.summary())
		}
		lines = append(lines, r.body(st)...)
	}
	return lines
}

func (r Reason) summary() string {
	switch r.Kind {
	case ReasonWindow:
		return r.windowSummary()
	case ReasonDeploy:
		return "deploy in progress by " + r.Holder
	case ReasonManual:
		return "locked by " + r.Holder
	case ReasonCooldown:
		if r.Deploy != nil {
			return fmt.Sprintf("%s is recovering from %s's deploy %s", r.Scope, r.Deploy.Owner, r.Deploy.ShortID())
		}
	}
	return r.Reason
}

// body is the lines under a reason's summary.
func (r Reason) body(st stamper) []string {
	id := r.shortID()
	switch r.Kind {
	case ReasonAuto, ReasonCooldown:
		return append(r.gateLines(st), fmt.Sprintf("held automatically since %s; %s", st.stamp(r.Since, "hold "+id), r.ClearsText(st.now)))
	case ReasonWindow:
		return []string{r.windowDetail()}
	}
	line := fmt.Sprintf("%s: %q, since %s", r.Scope, r.Reason, st.stamp(r.Since, "hold "+id))
	if r.Until != nil && r.Kind == ReasonManual {
		line += ", expires " + st.stamp(*r.Until)
	}
	return []string{line}
}

// GateLines are what one of the gate's reasons says of its cluster under
// its summary, as read at now: one line per apiserver, or how far its
// recovery has come. An auto hold keeps them as its Details.
func (r Reason) GateLines(now time.Time) []string { return r.gateLines(stamper{now: now, live: true}) }

func (r Reason) gateLines(st stamper) []string {
	lines := append(hostLines(r.Signals, st), r.Notes...)
	if len(lines) == 0 {
		if p := r.Clears.progress(); p != "" {
			lines = append(lines, p)
		}
	}
	return lines
}

// shortID is how the text names the hold, as Hold.ShortID does.
func (r Reason) shortID() string {
	kind := KindManual
	if r.Kind == ReasonAuto || r.Kind == ReasonCooldown {
		kind = KindAuto
	}
	return Hold{ID: r.HoldID, Kind: kind}.ShortID()
}

// ClearsText says what ends the reason, e.g. "clears after 1m healthy and
// not before 12:54:12 UTC".
func (r Reason) ClearsText(now time.Time) string {
	c := r.Clears
	at := stamper{now: now}
	switch c.On {
	case ClearsOnHealthy:
		s := "clears after " + Span(time.Duration(c.After)) + " healthy"
		if c.NotBefore != nil && c.NotBefore.After(now) {
			s += " and not before " + at.stamp(*c.NotBefore)
		}
		return s
	case ClearsOnBelowWarn:
		s := fmt.Sprintf("clears when every signal is below warn for %d evaluations", c.Evaluations)
		if r.Until != nil {
			s += ", at the latest " + at.stamp(*r.Until)
		}
		return s
	case ClearsOnDeployEnd:
		return "clears when the deploy ends"
	case "":
		if c.Text != "" {
			return c.Text
		}
	}
	if r.Until != nil {
		return "clears when released, at the latest " + at.stamp(*r.Until)
	}
	return "clears when released"
}

// progress is how far a recovering cluster has come, when no signal says
// why it is still held.
func (c Clears) progress() string {
	switch c.On {
	case ClearsOnHealthy:
		return fmt.Sprintf("recovering: healthy for %d of %d evaluations", min(c.Streak, c.Evaluations), c.Evaluations)
	case ClearsOnBelowWarn:
		return fmt.Sprintf("every signal below warn for %d of %d evaluations", min(c.Streak, c.Evaluations), c.Evaluations)
	}
	return ""
}

// hostLines are one line per apiserver, its signals in the order given:
//
//	kubemaster1002:6443  readyz 4.2s (limit 1s)  CPU 98% (limit 90%)  for 45s
//
// "for" runs from the oldest signal's Since.
func hostLines(signals []SignalReading, st stamper) []string {
	var order []string
	byHost := map[string][]SignalReading{}
	for _, s := range signals {
		if _, ok := byHost[s.APIServer]; !ok {
			order = append(order, s.APIServer)
		}
		byHost[s.APIServer] = append(byHost[s.APIServer], s)
	}
	lines := make([]string, 0, len(order))
	for _, host := range order {
		lines = append(lines, HostLine(byHost[host], st.now, st.live))
	}
	return lines
}

// HostLine is one apiserver's readings on one line, parts two spaces
// apart, with how long they have lasted (live) or since when:
//
//	kubemaster1002:6443  readyz failed (timeout after 1s)  CPU 98% (limit 90%)  for 45s
//
// All readings are of one apiserver.
func HostLine(readings []SignalReading, now time.Time, live bool) string {
	if len(readings) == 0 {
		return ""
	}
	parts := []string{ShortHost(readings[0].APIServer)}
	oldest := readings[0].Since
	for _, s := range readings {
		if s.Since.Before(oldest) {
			oldest = s.Since
		}
		parts = append(parts, s.Text())
	}
	if live {
		parts = append(parts, "for "+Span(now.Sub(oldest)))
	} else {
		parts = append(parts, "since "+(stamper{now: now}).stamp(oldest))
	}
	return strings.Join(parts, "  ")
}

// Text is the reading as people read it: "CPU 98% (limit 90%)", "CPU 85%
// (warn 80%)", "readyz failed (timeout after 1s)", "CPU unknown (connection
// refused)". A value shown equal to its limit is said to be at it, since
// "CPU 90% (limit 90%)" would hide that it counts.
func (s SignalReading) Text() string {
	label := SignalLabel(s.Signal)
	switch {
	case s.Level == LevelError:
		return fmt.Sprintf("%s unknown (%s)", label, s.Error)
	case s.Error != "":
		return fmt.Sprintf("%s failed (%s)", label, s.Error)
	}
	v, l := FormatValue(s.Signal, s.Value), FormatValue(s.Signal, s.Limit)
	limit, at := "limit", "at the limit"
	if s.Level == LevelWarn {
		limit, at = "warn", "at warn"
	}
	if v == l {
		return fmt.Sprintf("%s %s (%s)", label, v, at)
	}
	return fmt.Sprintf("%s %s (%s %s)", label, v, limit, l)
}

func joinScopes(scopes []Scope) string {
	if len(scopes) == 0 {
		return string(Global)
	}
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ", ")
}
