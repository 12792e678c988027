package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// pyrraFile is the part of Pyrra's ServiceLevelObjective (pyrra.dev/v1alpha1)
// that scaplock's objectives use.
type pyrraFile struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Spec struct {
		Description string `yaml:"description"`
		Target      string `yaml:"target"`
		Window      string `yaml:"window"`
		Indicator   struct {
			Ratio *struct {
				Errors   query    `yaml:"errors"`
				Total    query    `yaml:"total"`
				Grouping []string `yaml:"grouping"`
			} `yaml:"ratio"`
			Latency *struct {
				Success  query    `yaml:"success"`
				Total    query    `yaml:"total"`
				Grouping []string `yaml:"grouping"`
			} `yaml:"latency"`
		} `yaml:"indicator"`
	} `yaml:"spec"`
}

type query struct {
	Metric string `yaml:"metric"`
}

// Objective is one SLO as the rule generator needs it.
type Objective struct {
	Name        string
	Description string
	Target      float64 // 0..1
	Window      time.Duration
	// Errors is an expression of bad events per second over a [WINDOW]
	// placeholder range; Total of all events.
	Errors, Total string
	// TotalSelector counts the events, for the min-events guard.
	TotalSelector string
	Grouping      []string
	// MinEvents, when positive, keeps an alert quiet unless its long window
	// saw at least this many events.
	MinEvents int
}

// minEventsAnnotation is scaplock's own annotation: Pyrra ignores it.
const minEventsAnnotation = "scaplock.dev/min-events"

var (
	selectorRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})?$`)
	labelRE    = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	nameRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	leRE       = regexp.MustCompile(`le="([0-9.eE+]+)"`)
)

// parseObjective reads one Pyrra file strictly: unknown fields, a second
// indicator or a bad value are errors naming the field.
func parseObjective(name string, raw []byte) (Objective, error) {
	var f pyrraFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Objective{}, fmt.Errorf("%s: %w", name, err)
	}
	fail := func(field, format string, args ...any) (Objective, error) {
		return Objective{}, fmt.Errorf("%s: %s: %s", name, field, fmt.Sprintf(format, args...))
	}
	if f.APIVersion != "pyrra.dev/v1alpha1" {
		return fail("apiVersion", "%q, want pyrra.dev/v1alpha1", f.APIVersion)
	}
	if f.Kind != "ServiceLevelObjective" {
		return fail("kind", "%q, want ServiceLevelObjective", f.Kind)
	}
	o := Objective{Name: f.Metadata.Name, Description: f.Spec.Description}
	if !nameRE.MatchString(o.Name) {
		return fail("metadata.name", "%q is not a lower-case DNS label", o.Name)
	}
	target, err := strconv.ParseFloat(f.Spec.Target, 64)
	if err != nil || target <= 0 || target >= 100 {
		return fail("spec.target", "%q is not a percentage strictly between 0 and 100", f.Spec.Target)
	}
	o.Target = target / 100
	w, err := model.ParseDuration(f.Spec.Window)
	if err != nil || w < model.Duration(24*time.Hour) {
		return fail("spec.window", "%q is not a duration of a day or more", f.Spec.Window)
	}
	o.Window = time.Duration(w)
	if v, ok := f.Metadata.Annotations[minEventsAnnotation]; ok {
		if o.MinEvents, err = strconv.Atoi(v); err != nil || o.MinEvents < 1 {
			return fail("metadata.annotations."+minEventsAnnotation, "%q is not a positive integer", v)
		}
	}
	ind := f.Spec.Indicator
	switch {
	case ind.Ratio != nil && ind.Latency != nil:
		return fail("spec.indicator", "has both ratio and latency; give one")
	case ind.Ratio != nil:
		for field, q := range map[string]string{"ratio.errors.metric": ind.Ratio.Errors.Metric, "ratio.total.metric": ind.Ratio.Total.Metric} {
			if !selectorRE.MatchString(q) {
				return fail("spec.indicator."+field, "%q is not a vector selector", q)
			}
		}
		o.Grouping = ind.Ratio.Grouping
		o.Errors = "sum" + by(o.Grouping) + " (rate(" + ind.Ratio.Errors.Metric + "[WINDOW]))"
		o.Total = "sum" + by(o.Grouping) + " (rate(" + ind.Ratio.Total.Metric + "[WINDOW]))"
		o.TotalSelector = ind.Ratio.Total.Metric
	case ind.Latency != nil:
		success, total := ind.Latency.Success.Metric, ind.Latency.Total.Metric
		if !selectorRE.MatchString(success) || !leRE.MatchString(success) {
			return fail("spec.indicator.latency.success.metric", "%q is not a bucket selector with le=\"<seconds>\"", success)
		}
		if !selectorRE.MatchString(total) {
			return fail("spec.indicator.latency.total.metric", "%q is not a vector selector", total)
		}
		o.Grouping = ind.Latency.Grouping
		// Bad events are all events less those within the bucket.
		o.Total = "sum" + by(o.Grouping) + " (rate(" + total + "[WINDOW]))"
		o.Errors = "(" + o.Total + " - sum" + by(o.Grouping) + " (rate(" + success + "[WINDOW])))"
		o.TotalSelector = total
	default:
		return fail("spec.indicator", "needs ratio or latency")
	}
	for _, l := range o.Grouping {
		if !labelRE.MatchString(l) {
			return fail("spec.indicator.grouping", "%q is not a label name", l)
		}
	}
	return o, nil
}

func by(grouping []string) string {
	if len(grouping) == 0 {
		return ""
	}
	return " by (" + strings.Join(grouping, ", ") + ")"
}

// readObjectives parses every *.yaml in dir, sorted by file name; two
// objectives with one name are an error.
func readObjectives(dir string) ([]Objective, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no *.yaml objectives", dir)
	}
	slices.Sort(files)
	var out []Objective
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		o, err := parseObjective(filepath.Base(f), raw)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(p Objective) bool { return p.Name == o.Name }) {
			return nil, fmt.Errorf("%s: metadata.name: %q is already another file's", filepath.Base(f), o.Name)
		}
		out = append(out, o)
	}
	return out, nil
}
