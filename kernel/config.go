package kernel

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// The project's fragments travel inside the binary so `iomapct` works from
// any directory; --config-dir replaces them.
//
//go:embed config/*.config
var embeddedConfig embed.FS

// Option is one requested Kconfig value and where it was asked for.
type Option struct {
	Name  string // CONFIG_FOO
	Value string // y, m, n, a number or a quoted string
	From  string // fragment file:line
}

// Config is the ordered union of fragments.
type Config struct {
	Options []Option
}

var (
	setLine   = regexp.MustCompile(`^(CONFIG_[A-Za-z0-9_]+)=(.*)$`)
	unsetLine = regexp.MustCompile(`^# (CONFIG_[A-Za-z0-9_]+) is not set$`)
)

// Fragment is one named config fragment's text.
type Fragment struct {
	Name string
	Text string
}

// DefaultFragments returns the numbered fragments (NN-*.config) in order,
// plus debug.config when debug is set. An empty dir means the embedded set.
func DefaultFragments(dir string, debug bool) ([]Fragment, error) {
	var fsys fs.FS = embeddedConfig
	root := "config"
	if dir != "" {
		fsys, root = os.DirFS(dir), "."
	}
	names, err := fs.Glob(fsys, root+"/[0-9]*.config")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	if debug {
		names = append(names, root+"/debug.config")
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no NN-*.config fragments in %s", dir)
	}
	var out []Fragment
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("config fragment: %w", err)
		}
		out = append(out, Fragment{Name: filepath.Join(dir, filepath.Base(n)), Text: string(b)})
		if dir == "" {
			out[len(out)-1].Name = "kernel/config/" + filepath.Base(n)
		}
	}
	return out, nil
}

// Merge parses the fragments in order. Two fragments giving one option
// different values is an error naming both places: a silent "last one wins"
// would hide a broken request.
func Merge(frags []Fragment) (Config, error) {
	var c Config
	seen := map[string]int{}
	var errs []string
	for _, f := range frags {
		sc := bufio.NewScanner(strings.NewReader(f.Text))
		for ln := 1; sc.Scan(); ln++ {
			line := strings.TrimSpace(sc.Text())
			var name, val string
			if m := setLine.FindStringSubmatch(line); m != nil {
				name, val = m[1], m[2]
			} else if m := unsetLine.FindStringSubmatch(line); m != nil {
				name, val = m[1], "n"
			} else if line == "" || strings.HasPrefix(line, "#") {
				continue
			} else {
				errs = append(errs, fmt.Sprintf("%s:%d: not a config line: %q", f.Name, ln, line))
				continue
			}
			o := Option{Name: name, Value: val, From: fmt.Sprintf("%s:%d", f.Name, ln)}
			if i, ok := seen[name]; ok {
				if c.Options[i].Value != val {
					errs = append(errs, fmt.Sprintf("%s: %s asks for %s but %s asks for %s",
						name, c.Options[i].From, c.Options[i].Value, o.From, val))
				}
				continue
			}
			seen[name] = len(c.Options)
			c.Options = append(c.Options, o)
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("config fragments conflict:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}

// Text renders the config in .config syntax (the KCONFIG_ALLCONFIG input).
func (c Config) Text() string {
	var sb strings.Builder
	for _, o := range c.Options {
		if o.Value == "n" {
			fmt.Fprintf(&sb, "# %s is not set\n", o.Name)
		} else {
			fmt.Fprintf(&sb, "%s=%s\n", o.Name, o.Value)
		}
	}
	return sb.String()
}

// Hash identifies the request for cache keys.
func (c Config) Hash() string { return hashStrings(c.Text()) }

// Missing compares a generated .config with the request and returns the
// options Kconfig dropped or changed, each explained with the dependency
// Kconfig declares for it when the source tree tells.
func (c Config) Missing(dotconfig, srcdir string) ([]string, error) {
	b, err := os.ReadFile(dotconfig)
	if err != nil {
		return nil, err
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if m := setLine.FindStringSubmatch(sc.Text()); m != nil {
			got[m[1]] = m[2]
		}
	}
	var missing []string
	var deps map[string]string
	for _, o := range c.Options {
		have, ok := got[o.Name]
		if o.Value == "n" && !ok || have == o.Value {
			continue
		}
		if deps == nil {
			deps = kconfigDeps(srcdir)
		}
		now := "not set"
		if ok {
			now = have
		}
		msg := fmt.Sprintf("%s=%s (asked by %s) is %s in the generated .config", o.Name, o.Value, o.From, now)
		if d, ok := deps[strings.TrimPrefix(o.Name, "CONFIG_")]; ok {
			msg += "; Kconfig: " + d
		} else if deps != nil {
			msg += "; no such symbol in this tree's Kconfig files"
		}
		missing = append(missing, msg)
	}
	return missing, nil
}

var dependsLine = regexp.MustCompile(`^\s*depends on\s+(.*)$`)

// kconfigDeps maps each symbol to its "depends on" lines, read from every
// Kconfig file of the tree. Only used to explain a failure, so a slow walk
// is fine.
func kconfigDeps(srcdir string) map[string]string {
	out := map[string]string{}
	filepath.WalkDir(srcdir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasPrefix(d.Name(), "Kconfig") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		cur := ""
		// Symbols inside an "if X" block silently depend on X too; that is
		// the dependency people miss (LKDTM needs RUNTIME_TESTING_MENU).
		var ifs []string
		for sc.Scan() {
			line := sc.Text()
			t := strings.TrimSpace(line)
			// Statements start in column 0; indented lines are help text,
			// which says "if ..." often enough to matter.
			switch {
			case strings.HasPrefix(line, "if "):
				ifs = append(ifs, strings.TrimSpace(strings.TrimPrefix(t, "if ")))
				continue
			case strings.HasPrefix(line, "endif") && len(ifs) > 0:
				ifs = ifs[:len(ifs)-1]
				continue
			}
			if strings.HasPrefix(t, "config ") || strings.HasPrefix(t, "menuconfig ") {
				cur = strings.TrimSpace(strings.Fields(t)[1])
				if _, ok := out[cur]; !ok {
					out[cur] = "defined in " + strings.TrimPrefix(p, srcdir+"/") + ", no dependencies"
					if len(ifs) > 0 {
						out[cur] = "inside \"if " + strings.Join(ifs, "\" and \"if ") + "\" (" + strings.TrimPrefix(p, srcdir+"/") + ")"
					}
				}
				continue
			}
			if m := dependsLine.FindStringSubmatch(line); m != nil && cur != "" {
				switch {
				case strings.Contains(out[cur], "no dependencies"):
					out[cur] = "depends on " + m[1] + " (" + strings.TrimPrefix(p, srcdir+"/") + ")"
				case strings.HasPrefix(out[cur], "inside "):
					out[cur] = "depends on " + m[1] + ", " + out[cur]
				default:
					out[cur] += " && " + m[1]
				}
			}
		}
		return nil
	})
	return out
}
