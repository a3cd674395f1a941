package kernel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/iomapct/iomapct/internal/cachedir"
)

// Spec says what to build.
type Spec struct {
	Source    Source
	Series    Series
	Fragments []Fragment
	// Jobs is make -j; 0 means the number of CPUs.
	Jobs int
	// Progress receives one line every few seconds while compiling.
	Progress io.Writer
	// Coverage, if set, builds a gcov kernel instead (kernel/coverage.go):
	// its own cache entry and work tree, so the normal kernel's
	// incremental builds are not disturbed.
	Coverage *Coverage
}

// Artifact is a built kernel in the cache.
type Artifact struct {
	BzImage string `json:"bzimage"`
	// Vmlinux is the uncompressed ELF kernel: with CONFIG_PVH, QEMU boots
	// it directly (-kernel vmlinux), skipping the decompressor. Empty for
	// entries cached before it was kept.
	Vmlinux    string `json:"vmlinux,omitempty"`
	Config     string `json:"config"`
	Key        string `json:"key"`
	SourceID   string `json:"source_id"`
	SeriesID   string `json:"series_id"`
	Patches    int    `json:"patches"`
	ConfigHash string `json:"config_hash"`
	// Cached is true when nothing was compiled for this call.
	Cached bool `json:"-"`
	// Log is the full build log of the build that made it.
	Log string `json:"log"`
	// Gcov is set for a coverage kernel: the .gcno files and sources of
	// the instrumented objects (Gcov/<dir>/<name>.gcno, Gcov/src/...).
	Gcov string `json:"gcov,omitempty"`
	// GcovObjects are the instrumented objects (tree-relative .o paths).
	GcovObjects []string `json:"gcov_objects,omitempty"`
}

// BuildError carries the first compiler error and where the full log is.
type BuildError struct {
	First string
	Log   string
	Err   error
}

func (e *BuildError) Error() string {
	if e.First != "" {
		return fmt.Sprintf("kernel build failed: %s\n(full log: %s)", e.First, e.Log)
	}
	return fmt.Sprintf("kernel build failed: %v (full log: %s)", e.Err, e.Log)
}

// Build returns the cached kernel for spec, building it if needed. Each
// (source, config) pair keeps one persistent work tree and build directory,
// so switching series revisions recompiles only the files that differ;
// ccache covers fresh build directories.
func Build(ctx context.Context, cache string, spec Spec) (*Artifact, error) {
	frags, covID, err := spec.coverage()
	if err != nil {
		return nil, err
	}
	cfg, err := Merge(frags)
	if err != nil {
		return nil, err
	}
	// covID is empty for a normal kernel, whose keys stay what they were.
	key := hashStrings(spec.Source.ID, spec.Series.ID(), cfg.Hash()+covID)[:16]
	out := filepath.Join(cache, "kernels", key)
	if a, err := loadChecked(out, spec.Progress); err != nil {
		return nil, err
	} else if a != nil {
		a.Cached = true
		touch(filepath.Join(out, "meta.json")) // most recently used: kept by prune
		return a, nil
	}
	workID := hashStrings(spec.Source.ID, cfg.Hash()+covID)[:16]
	if spec.Source.Commit != "" {
		workID = gitWorkID(spec.Source, cfg.Hash()+covID)
	}
	work := filepath.Join(cache, "work", workID)
	unlock, err := lock(work + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if a, err := loadChecked(out, spec.Progress); err != nil {
		return nil, err
	} else if a != nil { // built while we waited
		a.Cached = true
		return a, nil
	}
	tree := filepath.Join(work, "src")
	if spec.Source.Commit != "" {
		if err := syncGitTree(ctx, spec.Source, tree, work); err != nil {
			return nil, err
		}
	} else if err := ensureTree(ctx, spec.Source.Dir, tree, spec.Source.Owned); err != nil {
		return nil, err
	}
	if err := syncSeries(ctx, spec.Source.Dir, tree, work, spec.Series); err != nil {
		return nil, err
	}
	if spec.Coverage != nil {
		if err := spec.Coverage.applyOverlay(tree); err != nil {
			return nil, err
		}
	}
	bdir := filepath.Join(work, "build")
	logPath := filepath.Join(work, "build.log")
	if err := configure(ctx, tree, bdir, cfg); err != nil {
		return nil, err
	}
	// Two makes: vmlinux through ccache, then the bzImage around it without:
	// the bzImage's piggy.o .incbin's the compressed vmlinux, which ccache
	// does not hash (see piggyObject).
	if err := compile(ctx, cache, work, tree, bdir, logPath, spec, "vmlinux", false); err != nil {
		return nil, err
	}
	if err := compile(ctx, cache, work, tree, bdir, logPath, spec, "bzImage", true); err != nil {
		return nil, err
	}
	if err := checkBuild(ctx, cache, work, tree, bdir, logPath, spec); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	a := &Artifact{
		BzImage: filepath.Join(out, "bzImage"), Vmlinux: filepath.Join(out, "vmlinux"), Config: filepath.Join(out, "config"), Key: key,
		SourceID: spec.Source.ID, SeriesID: spec.Series.ID()[:16], Patches: len(spec.Series.Patches),
		ConfigHash: cfg.Hash()[:16], Log: filepath.Join(out, "build.log"),
	}
	if spec.Coverage != nil {
		if err := spec.Coverage.keepNotes(tree, bdir, out); err != nil {
			return nil, err
		}
		a.Gcov, a.GcovObjects = filepath.Join(out, "gcov"), spec.Coverage.Objects
	}
	for src, dst := range map[string]string{
		filepath.Join(bdir, "arch/x86/boot/bzImage"): a.BzImage,
		filepath.Join(bdir, "vmlinux"):               a.Vmlinux,
		filepath.Join(bdir, ".config"):               a.Config,
		logPath:                                      a.Log,
	} {
		if err := copyFile(src, dst); err != nil {
			return nil, err
		}
	}
	meta, _ := json.MarshalIndent(a, "", "  ")
	// meta.json is written last: its presence is what marks the entry done.
	if err := os.WriteFile(filepath.Join(out, "meta.json"), meta, 0o644); err != nil {
		return nil, err
	}
	pruneKernels(filepath.Join(cache, "kernels"), keepKernels, key)
	return a, nil
}

// keepKernels bounds kernels/: a bisect or a benchmark makes a kernel per
// step (about 20 MB each, vmlinux included), and nothing else removes them.
const keepKernels = 48

// pruneKernels deletes all but the keep most recently used kernels (by
// meta.json's mtime, which a cache hit refreshes), never the one just made.
func pruneKernels(dir string, keep int, except string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var paths []string
	for _, e := range ents {
		if e.Name() != except { // the new one is kept whatever its time
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	// No meta.json yet: being built right now, so never pruned.
	meta := func(p string) (time.Time, error) { return cachedir.ModTime(filepath.Join(p, "meta.json")) }
	for _, p := range cachedir.Oldest(paths, keep-1, meta) {
		os.RemoveAll(p)
	}
}

func touch(path string) {
	now := time.Now()
	os.Chtimes(path, now, now)
}

func loadArtifact(dir string) (*Artifact, error) {
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	var a Artifact
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, err
	}
	if _, err := os.Stat(a.BzImage); err != nil {
		return nil, err
	}
	return &a, nil
}

// ensureTree makes the work tree a copy of the pristine source, once. An
// owned source (extracted into the cache, never written) is hard-linked
// rather than copied: about a second instead of 15 on a cold build. That is
// safe because the only writer of the work tree, syncSeries, replaces files
// by rename and never writes through a link; kbuild with O= writes only to
// the build directory.
func ensureTree(ctx context.Context, src, tree string, owned bool) error {
	if _, err := os.Stat(filepath.Join(tree, "Makefile")); err == nil {
		return nil
	}
	tmp := tree + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Dir(tree), 0o755); err != nil {
		return err
	}
	if owned {
		if err := exec.CommandContext(ctx, "cp", "-al", src, tmp).Run(); err == nil {
			return os.Rename(tmp, tree)
		}
		os.RemoveAll(tmp) // another filesystem: links cannot cross it, copy instead
	}
	// A user's tree is copied without .git, which can be several times
	// the size of the sources and which the build does not need (without
	// it, setlocalversion adds no "-dirty": the source ID already says).
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	// pipefail: a reading tar that fails must fail the copy, not leave a
	// silently partial tree behind a writing tar that succeeded.
	cmd := exec.CommandContext(ctx, "bash", "-c", `set -o pipefail; tar -C "$1" --exclude=./.git -cf - . | tar -C "$2" -xf -`, "bash", src, tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s to work tree: %v: %s", src, err, out)
	}
	return os.Rename(tmp, tree)
}

// syncSeries brings the work tree to pristine + series, writing only files
// whose content changes: an untouched file keeps its mtime, so make does not
// rebuild it, and a changed file always gets a new one.
func syncSeries(ctx context.Context, pristine, tree, work string, s Series) error {
	statePath := filepath.Join(work, "applied.json")
	var prev []string
	if b, err := os.ReadFile(statePath); err == nil {
		json.Unmarshal(b, &prev)
	}
	staged, err := s.Stage(ctx, pristine)
	defer os.RemoveAll(staged)
	if err != nil {
		return err
	}
	files := s.Files()
	want := map[string]string{} // path -> where its content comes from
	for _, f := range prev {
		want[f] = filepath.Join(pristine, f)
	}
	for _, f := range files {
		want[f] = filepath.Join(staged, f)
	}
	for f, from := range want {
		dst := filepath.Join(tree, f)
		b, err := os.ReadFile(from)
		if os.IsNotExist(err) {
			os.Remove(dst) // created by a previous series, or deleted by this one
			continue
		} else if err != nil {
			return err
		}
		if cur, err := os.ReadFile(dst); err == nil && bytes.Equal(cur, b) {
			continue
		}
		if err := replaceFile(dst, b); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(files)
	return os.WriteFile(statePath, b, 0o644)
}

// replaceFile gives path new content through a new inode (write a temporary
// file, rename it over path): the work tree may hard-link the pristine
// source, which must never change.
func replaceFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".iomapct-tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// configure makes build/.config from the request (allnoconfig plus the
// fragments, so nothing unrequested is on) and checks Kconfig kept every
// requested value. It reruns only when the request changed.
func configure(ctx context.Context, tree, bdir string, cfg Config) error {
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return err
	}
	req := filepath.Join(bdir, "iomapct-request.config")
	if cur, err := os.ReadFile(req); err == nil && string(cur) == cfg.Text() {
		if _, err := os.Stat(filepath.Join(bdir, ".config")); err == nil {
			return nil
		}
	}
	if err := os.WriteFile(req, []byte(cfg.Text()), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", tree, "O="+bdir, "ARCH=x86_64",
		"KCONFIG_ALLCONFIG="+req, "allnoconfig")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(req)
		return fmt.Errorf("kernel config (make allnoconfig): %v\n%s", err, out)
	}
	missing, err := cfg.Missing(filepath.Join(bdir, ".config"), tree)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		os.Remove(req) // so the next run re-checks instead of trusting a bad .config
		return fmt.Errorf("kernel config: %d requested option(s) not in the generated .config:\n  %s",
			len(missing), strings.Join(missing, "\n  "))
	}
	return nil
}

var (
	compileLine  = regexp.MustCompile(`^\s+(CC|AS|LD|AR|CPP|HOSTCC|OBJCOPY)\s+(\S+)`)
	compileError = regexp.MustCompile(`^(\S+):(\d+):(\d+:)? (fatal )?error: (.*)$`)
)

// compile makes target in the build directory; noCcache runs the compiler
// bypassing ccache and appends to the log instead of starting it.
func compile(ctx context.Context, cache, work, tree, bdir, logPath string, spec Spec, target string, noCcache bool) error {
	jobs := spec.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if noCcache {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND // the second step: keep the first one's log
	}
	logf, err := os.OpenFile(logPath, flags, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	// "How far" needs a denominator. Only a fresh build directory compiles
	// everything, and the last full build of any config is a fair guess at
	// its size; an incremental build (a revision switch) compiles an unknown
	// handful, so it just counts.
	countFile := filepath.Join(cache, "full-build-objects")
	_, err = os.Stat(filepath.Join(bdir, "vmlinux"))
	full := os.IsNotExist(err)
	prevTotal := 0
	if b, err := os.ReadFile(countFile); err == nil && full {
		fmt.Sscan(string(b), &prevTotal)
	}
	cmd := exec.CommandContext(ctx, "make", "-C", tree, "O="+bdir, "ARCH=x86_64",
		fmt.Sprintf("-j%d", jobs), "CC=ccache gcc", target)
	cmd.Env = append(os.Environ(),
		"CCACHE_DIR="+filepath.Join(cache, "ccache"),
		// Paths under the work dir are hashed relative to it, so a fresh
		// work dir (a new config or source) still hits ccache.
		"CCACHE_BASEDIR="+work, "CCACHE_NOHASHDIR=1",
		// Depend mode: ccache hashes the headers gcc reports through
		// -MMD (kbuild always passes it) instead of running the
		// preprocessor once more per object. On a cold build that second
		// preprocessor pass was 27% of all compile time (measured: 200 of
		// 738 CPU-seconds). The cost: a config change misses for every
		// object whose headers changed, where preprocessor mode would still
		// hit the ones whose preprocessed text did not.
		"CCACHE_DEPEND=1",
		// Plain ASCII diagnostics whatever the user's locale, so the first
		// error reads the same everywhere (gcc quotes with U+2018/U+2019
		// under a UTF-8 LC_CTYPE). Not LC_ALL: the kernel's Makefile
		// unexports it.
		"LANG=C", "LC_CTYPE=C", "LC_MESSAGES=C",
		"KBUILD_BUILD_TIMESTAMP=1970-01-01", "KBUILD_BUILD_USER=iomapct", "KBUILD_BUILD_HOST=iomapct")
	if noCcache {
		// Same CC on the command line (kbuild would otherwise see a new
		// command and rebuild every object), but ccache only runs gcc.
		cmd.Env = append(cmd.Env, "CCACHE_DISABLE=1")
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	var first string
	n := 0
	last := time.Now()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(logf, line)
		if m := compileLine.FindStringSubmatch(line); m != nil {
			n++
			if spec.Progress != nil && time.Since(last) > 15*time.Second {
				last = time.Now()
				if prevTotal > 0 {
					fmt.Fprintf(spec.Progress, "  build: %d/~%d objects (%d%%), now %s\n", n, prevTotal, min(99, 100*n/prevTotal), m[2])
				} else {
					fmt.Fprintf(spec.Progress, "  build: %d objects, now %s\n", n, m[2])
				}
			}
		}
		if first == "" && compileError.MatchString(line) {
			first = strings.TrimPrefix(line, tree+"/")
		}
	}
	if err := <-done; err != nil {
		return &BuildError{First: first, Log: logPath, Err: err}
	}
	if full {
		os.WriteFile(countFile, []byte(fmt.Sprint(n)), 0o644)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
