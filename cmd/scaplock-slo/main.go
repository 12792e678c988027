package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
)

func main() {
	dir := flag.String("pyrra", "contrib/pyrra", "directory of Pyrra ServiceLevelObjective files (*.yaml)")
	out := flag.String("out", "contrib/prometheus/scaplock-slo.rules.yaml", "rule file to write")
	check := flag.Bool("check", false, "write nothing; exit 1 if -out differs from what would be written")
	flag.Parse()
	if err := run(*dir, *out, *check); err != nil {
		fmt.Fprintln(os.Stderr, "scaplock-slo:", err)
		os.Exit(1)
	}
}

func run(dir, out string, check bool) error {
	objs, err := readObjectives(dir)
	if err != nil {
		return err
	}
	b, err := Generate(objs)
	if err != nil {
		return err
	}
	if check {
		old, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if !bytes.Equal(old, b) {
			return fmt.Errorf("%s is not what %s generates: run go generate ./contrib", out, dir)
		}
		return nil
	}
	return os.WriteFile(out, b, 0o644)
}
