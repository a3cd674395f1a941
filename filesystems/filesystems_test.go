package filesystems_test

import (
	"bufio"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/ondisk/mkfs"
)

func TestLookup(t *testing.T) {
	e, err := filesystems.Lookup("xfs")
	require.NoError(t, err)
	assert.Equal(t, "xfs", e.Name)
	_, err = filesystems.Lookup("btrfs")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"btrfs"`)
	assert.Contains(t, err.Error(), "ext2, ext4, xfs, gfs2", "the error lists the known filesystems")
	assert.False(t, filesystems.Known("btrfs"))
	assert.True(t, filesystems.Known("gfs2"))
}

func TestEveryEntryIsComplete(t *testing.T) {
	require.Len(t, filesystems.All(), 4)
	for _, e := range filesystems.All() {
		assert.NotEmpty(t, e.Packages, e.Name)
		require.NotNil(t, e.Mkfs, e.Name)
		require.NotNil(t, e.Fsck, e.Name)
		require.NotNil(t, e.Open, e.Name)
		assert.NotEmpty(t, e.KernelConfig, e.Name)
		assert.Positive(t, e.Cost, e.Name)
		assert.Positive(t, e.SpaceSlack, e.Name)
		assert.True(t, strings.HasPrefix(e.Mkfs(4096, "/img")[0], "mkfs."+e.Name), "%s: mkfs tool %q", e.Name, e.Mkfs(4096, "/img")[0])
		assert.Equal(t, "/img", e.Mkfs(4096, "/img")[len(e.Mkfs(4096, "/img"))-1], "%s: the image is the last argument", e.Name)
		assert.Contains(t, e.Fsck("/img"), "-n", "%s: fsck is read-only", e.Name)
		lo, hi := e.MountBlockSizes[0], e.MountBlockSizes[1]
		for _, bs := range e.BlockSizes {
			assert.True(t, bs >= lo && bs <= hi, "%s: tested block size %d outside the mountable %d..%d", e.Name, bs, lo, hi)
		}
		assert.True(t, slices.IsSorted(e.BlockSizes), e.Name)
		if !e.Caps.Journal {
			assert.NotNil(t, e.CrashFsck, "%s: without a journal the crash check's fsck is the recovery and must be set", e.Name)
		}
	}
}

func TestWithFollowsCapabilities(t *testing.T) {
	assert.Equal(t, []string{"ext4", "xfs", "gfs2"}, filesystems.With(func(c filesystems.Caps) bool { return c.Fallocate }))
	assert.Equal(t, []string{"xfs"}, filesystems.With(func(c filesystems.Caps) bool { return c.Reflink }))
	assert.Equal(t, []string{"gfs2"}, filesystems.With(func(c filesystems.Caps) bool { return c.Stuffed }))
	assert.Empty(t, filesystems.With(func(filesystems.Caps) bool { return false }))
}

func TestPackagesHaveNoRepeats(t *testing.T) {
	assert.Equal(t, []string{"e2fsprogs", "xfsprogs", "gfs2-utils"}, filesystems.Packages())
}

// The image an entry's Mkfs makes opens with its own reader, which names
// the filesystem and the block size back (poisoned, fsck-clean images made
// by ondisk/mkfs, as a run makes them).
func TestMkfsImageOpensWithItsReader(t *testing.T) {
	ctx := context.Background()
	for _, e := range filesystems.All() {
		for _, bs := range []int64{e.BlockSizes[0], e.BlockSizes[len(e.BlockSizes)-1]} {
			path := filepath.Join(t.TempDir(), "img")
			require.NoError(t, mkfs.Make(ctx, mkfs.Spec{FS: e.Name, BlockSize: bs, Size: 16 << 20, Path: path}))
			f, err := os.Open(path)
			require.NoError(t, err)
			r, err := filesystems.Open(e.Name, f)
			require.NoError(t, err, "%s-%d", e.Name, bs)
			assert.Equal(t, e.Name, r.FSType())
			assert.Equal(t, int(bs), r.BlockSize(), e.Name)
			require.NoError(t, f.Close())
		}
	}
}

// A reader that refuses an image gives an error and no Reader at all
// (not a nil *FS inside a non-nil interface).
func TestOpenRefusesGarbageWithANilReader(t *testing.T) {
	garbage := strings.NewReader(strings.Repeat("not a filesystem ", 1<<12))
	for _, e := range filesystems.All() {
		r, err := e.Open(garbage)
		assert.Error(t, err, e.Name)
		assert.True(t, r == nil, "%s: a failed open returned a non-nil Reader", e.Name)
	}
}

func TestOpenNamesAnUnknownFilesystem(t *testing.T) {
	_, err := filesystems.Open("btrfs", strings.NewReader(""))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown filesystem "btrfs"`)
}

// Every entry's kernel options are in the config fragment the build uses,
// and every filesystem the fragment builds in has an entry: a filesystem
// added to one and not the other fails here, not at mount time in a VM.
func TestKernelConfigFragmentMatchesRegistry(t *testing.T) {
	f, err := os.Open("../kernel/config/20-filesystems.config")
	require.NoError(t, err)
	defer f.Close()
	fragment := map[string]bool{}
	fsOption := regexp.MustCompile(`^CONFIG_[A-Z0-9]+_FS=y$`)
	var fsOptions []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fragment[line] = true
		if fsOption.MatchString(line) {
			fsOptions = append(fsOptions, line)
		}
	}
	require.NoError(t, sc.Err())
	var want []string
	for _, e := range filesystems.All() {
		for _, opt := range e.KernelConfig {
			assert.True(t, fragment[opt], "%s needs %s, which kernel/config/20-filesystems.config does not set", e.Name, opt)
			if fsOption.MatchString(opt) {
				want = append(want, opt)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(fsOptions)
	assert.Empty(t, cmp.Diff(want, fsOptions), "filesystems built in by the fragment (+) that no registry entry asks for, or the reverse (-)")
}

// scripts/deps.sh asks the registry for the filesystem packages
// (`iomapct deps`) instead of listing them.
func TestDepsScriptAsksTheRegistry(t *testing.T) {
	b, err := os.ReadFile("../scripts/deps.sh")
	require.NoError(t, err)
	s := string(b)
	assert.Contains(t, s, "./cmd/iomapct deps")
	for _, p := range filesystems.Packages() {
		assert.NotRegexp(t, `(?m)^\s*[^#\n]*\b`+regexp.QuoteMeta(p)+`\b`, s, "deps.sh lists %s itself", p)
	}
}

func TestDepsCommandPrintsThePackages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/iomapct")
	}
	out, err := exec.Command("go", "run", "../cmd/iomapct", "deps").Output()
	require.NoError(t, err)
	assert.Equal(t, strings.Join(filesystems.Packages(), "\n")+"\n", string(out))
}

// allowedNameLiterals are the places that may spell a filesystem's name
// (README "Adding a filesystem"): the registry, the host readers (their
// FSType), the model's personalities, and the recorded kernel findings,
// which are data about the filesystem they were found on. Everything else
// asks the registry. Paths are relative to the module root; a trailing
// slash allows a directory.
var allowedNameLiterals = []string{
	"filesystems/",
	"ondisk/ext/",
	"ondisk/xfs/",
	"ondisk/gfs2/",
	"reference/personality.go",
	"judge/findings.go",
	"runner/crash_findings.go",
}

// TestNoNameLiteralsOutsideAllowedPlaces fails when a filesystem name
// appears as a string literal in non-test Go code outside the allowed
// places: a switch or a list on a name there is a filesystem fact the
// registry should hold.
func TestNoNameLiteralsOutsideAllowedPlaces(t *testing.T) {
	names := map[string]bool{}
	for _, n := range filesystems.Names() {
		names[n] = true
	}
	var bad []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, "../"))
		if d.IsDir() {
			switch d.Name() {
			case ".git", "runs", "bin", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, a := range allowedNameLiterals {
			if rel == a || strings.HasSuffix(a, "/") && strings.HasPrefix(rel, a) {
				return nil
			}
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found, err := nameLiterals(path, src, names)
		bad = append(bad, found...)
		return err
	})
	require.NoError(t, err)
	assert.Empty(t, bad, "filesystem names spelled outside the registry (ask filesystems.Lookup or a capability instead)")
}

// nameLiterals returns the positions of the string literals in src that
// spell one of names.
func nameLiterals(path string, src []byte, names map[string]bool) ([]string, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	ast.Inspect(file, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		for _, part := range strings.Split(s, ",") {
			if names[part] {
				out = append(out, fset.Position(lit.Pos()).String()+": "+lit.Value)
				break
			}
		}
		return true
	})
	return out, nil
}

// The guard's scanner finds a switch case, a comparison, a raw string and
// a comma-separated list, and leaves comments and longer strings alone.
func TestNameLiteralsFindsSwitchesAndComparisons(t *testing.T) {
	src := "package p\n// on \"xfs\" only\nfunc f(fs string) bool {\n\tswitch fs {\n\tcase \"ext2\":\n\t}\n\treturn fs == `gfs2` || fs == \"xfs-4k\" || fs == \"ext4,xfs\"\n}\n"
	got, err := nameLiterals("p.go", []byte(src), map[string]bool{"ext2": true, "xfs": true, "gfs2": true})
	require.NoError(t, err)
	assert.Equal(t, []string{"p.go:5:7: \"ext2\"", "p.go:7:15: `gfs2`", "p.go:7:49: \"ext4,xfs\""}, got)
}
