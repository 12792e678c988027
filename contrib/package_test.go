package contrib

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// buildPackage builds both binaries stripped and packages them the way
// make deb does.
func buildPackage(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	run(t, "..", "go", "build", "-trimpath", "-ldflags", "-X main.version=v1.2.3-4-gabcdef -s -w", "-o", bin+"/", "./cmd/scaplockd", "./cmd/scaplock")
	return strings.TrimSpace(run(t, ".", "debian/build-deb.sh", "v1.2.3-4-gabcdef", bin, bin))
}

// unstripped names the sections a stripped Go binary does not have.
func unstripped(t *testing.T, path string) []string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var found []string
	for _, name := range []string{".symtab", ".debug_info", ".zdebug_info"} {
		if f.Section(name) != nil {
			found = append(found, name)
		}
	}
	return found
}

// The package carries the binaries, the unit and the environment file
// where Debian expects them, a user-creating postinst and a conffile; the
// unit passes systemd-analyze verify and its hardening scores as exposure
// below 2; the packaged scaplockd checks the packaged configuration.
func TestDebianPackage(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: the package is built with Debian's dpkg", tool)
		}
	}
	deb := buildPackage(t)
	arch := strings.TrimSpace(run(t, ".", "dpkg", "--print-architecture"))
	if filepath.Base(deb) != "scaplock_1.2.3+4.gabcdef_"+arch+".deb" {
		t.Errorf("package file %s", filepath.Base(deb))
	}
	info := run(t, ".", "dpkg-deb", "--info", deb)
	for _, want := range []string{"Package: scaplock\n", "Version: 1.2.3+4.gabcdef\n", "Architecture: " + arch + "\n", "Depends: adduser\n", "postinst", "conffiles"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
		}
	}
	contents := run(t, ".", "dpkg-deb", "--contents", deb)
	for path, mode := range map[string]string{
		"./usr/bin/scaplockd": "-rwxr-xr-x", "./usr/bin/scaplock": "-rwxr-xr-x",
		"./lib/systemd/system/scaplockd.service": "-rw-r--r--", "./etc/default/scaplockd": "-rw-r--r--",
		"./usr/share/doc/scaplock/scaplock.rules.yaml": "-rw-r--r--", "./usr/share/doc/scaplock/scaplock.json": "-rw-r--r--",
		"./lib/systemd/system/scaplock-scap-bridge.service": "-rw-r--r--", "./etc/default/scaplock-scap-bridge": "-rw-r--r--",
		"./usr/share/bash-completion/completions/scaplock": "-rw-r--r--", "./usr/share/zsh/vendor-completions/_scaplock": "-rw-r--r--",
		"./usr/share/doc/scaplock/scap.md": "-rw-r--r--",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(mode) + ` root/root .* ` + regexp.QuoteMeta(path) + `$`).MatchString(contents) {
			t.Errorf("dpkg-deb --contents lacks %s %s root/root:\n%s", mode, path, contents)
		}
	}
	root := t.TempDir()
	run(t, ".", "dpkg-deb", "-x", deb, root)
	ctrl := t.TempDir()
	run(t, ".", "dpkg-deb", "-e", deb, ctrl)
	if conf, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); string(conf) != "/etc/default/scaplockd\n/etc/default/scaplock-scap-bridge\n" {
		t.Errorf("conffiles %q", conf)
	}
	post, _ := os.ReadFile(filepath.Join(ctrl, "postinst"))
	for _, want := range []string{"adduser --quiet --system --group", "addgroup --quiet --system deployment", "--ingroup deployment", "scaplock-bridge"} {
		if !bytes.Contains(post, []byte(want)) {
			t.Errorf("postinst lacks %q: the units' users are not created:\n%s", want, post)
		}
	}
	if prerm, _ := os.ReadFile(filepath.Join(ctrl, "prerm")); !bytes.Contains(prerm, []byte("scaplockd.service scaplock-scap-bridge.service")) {
		t.Errorf("prerm does not stop both services:\n%s", prerm)
	}
	for _, b := range []string{"usr/bin/scaplockd", "usr/bin/scaplock"} {
		if s := unstripped(t, filepath.Join(root, b)); len(s) > 0 {
			t.Errorf("packaged %s is not stripped: it has %v", b, s)
		}
	}
	// build-deb.sh refuses binaries with a symbol table or DWARF.
	// (The stripped scaplockd beside an unstripped CLI: one link, not two.)
	fat := t.TempDir()
	run(t, "..", "go", "build", "-o", fat+"/", "./cmd/scaplock")
	run(t, ".", "cp", filepath.Join(root, "usr/bin/scaplockd"), fat)
	if len(unstripped(t, filepath.Join(fat, "scaplock"))) == 0 {
		t.Fatal("a default build has no symbol table: the refusal below proves nothing")
	}
	cmd := exec.Command("debian/build-deb.sh", "v1.2.3", fat, fat)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "is not stripped: build it with -ldflags '-s -w'") {
		t.Errorf("build-deb.sh packaged unstripped binaries: %v\n%s", err, out)
	}
	if v := run(t, ".", filepath.Join(root, "usr/bin/scaplockd"), "--version"); !strings.HasPrefix(v, "scaplockd v1.2.3-4-gabcdef ") {
		t.Errorf("packaged scaplockd --version: %q", v)
	}

	t.Run("unit", func(t *testing.T) { checkUnit(t, root) })

	// The packaged environment file passes the packaged scaplockd's check,
	// which sees the data dir the unit runs with: the file, not the unit,
	// sets it (issue 19: it reported ./scaplock-data).
	cmd = exec.Command(filepath.Join(root, "usr/bin/scaplockd"), "check-config", "--env-file", filepath.Join(root, "etc/default/scaplockd"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "configuration ok\n  store: embedded single-node etcd in /var/lib/scaplock (") {
		t.Errorf("check-config --env-file with the packaged environment file: %v\n%s", err, out)
	}
	// Every file:// a unit's Documentation= names is in the package.
	for _, unit := range []string{"scaplockd.service", "scaplock-scap-bridge.service"} {
		for _, doc := range unitKeys(t, filepath.Join(root, "lib/systemd/system", unit))["Unit.Documentation"] {
			for _, u := range strings.Fields(doc) {
				if path, ok := strings.CutPrefix(u, "file://"); ok {
					if _, err := os.Stat(filepath.Join(root, path)); err != nil {
						t.Errorf("%s: Documentation=%s is not in the package", unit, u)
					}
				}
			}
		}
	}
}

// unitKeys parses a systemd unit into section.key -> values.
func unitKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: not key=value in a section: %q", path, line)
			}
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	return keys
}

func checkUnit(t *testing.T, root string) {
	unit := filepath.Join(root, "lib/systemd/system/scaplockd.service")
	keys := unitKeys(t, unit)
	for key, want := range map[string]string{
		"Service.ExecStart": "/usr/bin/scaplockd", "Service.ExecStartPre": "/usr/bin/scaplockd check-config",
		"Service.User": "scaplock", "Service.StateDirectory": "scaplock", "Service.EnvironmentFile": "-/etc/default/scaplockd",
		"Service.RestartPreventExitStatus": "2", "Service.NoNewPrivileges": "yes", "Service.ProtectSystem": "strict",
		"Service.ProtectHome": "yes", "Service.PrivateTmp": "yes", "Service.CapabilityBoundingSet": "",
		"Install.WantedBy": "multi-user.target",
	} {
		if got := keys[key]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	// One source of truth: the environment file sets every SCAPLOCK_*,
	// the data dir (the StateDirectory) included.
	if env := keys["Service.Environment"]; len(env) > 0 {
		t.Errorf("the unit sets Environment=%q: put it in /etc/default/scaplockd, which check-config --env-file reads", env)
	}
	envFile, _ := os.ReadFile(filepath.Join(root, "etc/default/scaplockd"))
	if !regexp.MustCompile(`(?m)^SCAPLOCK_DATA_DIR=/var/lib/scaplock$`).Match(envFile) {
		t.Errorf("/etc/default/scaplockd does not point SCAPLOCK_DATA_DIR at the unit's StateDirectory")
	}
	bridge := unitKeys(t, filepath.Join(root, "lib/systemd/system/scaplock-scap-bridge.service"))
	if u, g := bridge["Service.User"], bridge["Service.Group"]; len(u) != 1 || u[0] != "scaplock-bridge" || len(g) != 1 || g[0] != "deployment" {
		t.Errorf("the bridge unit runs as %q:%q, which postinst does not create", u, g)
	}

	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not installed: the unit was checked by the parser only")
		return
	}
	if runtime.GOOS != "linux" {
		return
	}
	// verify --root needs the targets the unit orders itself after.
	for _, target := range []string{"sysinit", "basic", "multi-user", "network-online", "sockets", "paths", "timers", "local-fs", "swap", "slices"} {
		if raw, err := os.ReadFile("/lib/systemd/system/" + target + ".target"); err == nil {
			os.WriteFile(filepath.Join(root, "lib/systemd/system", target+".target"), raw, 0o644)
		}
	}
	// verify exits 0 on unknown keys and bad values; any output is a finding.
	for _, unit := range []string{"scaplockd.service", "scaplock-scap-bridge.service"} {
		cmd := exec.Command("systemd-analyze", "verify", "--root="+root, "/lib/systemd/system/"+unit)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
	}
	out, err := exec.Command("systemd-analyze", "security", "--offline=yes", "--root="+root, "scaplockd.service").CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for scaplockd.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	if score, _ := strconv.ParseFloat(string(m[1]), 64); score > 2.0 {
		t.Errorf("exposure %s, want at most 2.0 (hardening lost?)\n%s", m[1], out)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
}

// The image's build context leaves out what made it 157 MB: binaries, data
// dirs with their jwt.secret, git history, reports.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(raw), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{".git", "bin/", "scaplock-data/", "**/scaplock-data/", "*.secret", "bench-report.md", "*.deb"} {
		if !lines[want] {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
	// Nothing the build needs is left out.
	for _, needed := range []string{"go.mod", "go.sum", "cmd/", "web/", "migrations/", "health/", "health/sim/scenarios/"} {
		if lines[needed] || lines["/"+needed] {
			t.Errorf(".dockerignore leaves out %s, which the build needs", needed)
		}
	}
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(df, []byte(`HEALTHCHECK`)) || !bytes.Contains(df, []byte(`/scaplockd", "healthcheck"]`)) {
		t.Errorf("the Dockerfile has no HEALTHCHECK the distroless image can run")
	}
}
