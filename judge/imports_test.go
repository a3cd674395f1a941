package judge

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/iomapct/iomapct/"

// imports lists the imports of the non-test Go files of the module
// package at dir (relative to this package).
func imports(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no Go files in %s", dir)
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		require.NoError(t, err, f)
		for _, imp := range parsed.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err, f)
			if !slices.Contains(out, path) {
				out = append(out, path)
			}
		}
	}
	return out
}

// vmFree reports why a module package may not be among the judge's
// dependencies, or "" if it may: judging runs on the host alone, from a
// run directory, so nothing it depends on may build a kernel, boot a VM
// or drive QEMU. Of vmtest it may use only what is plain data: the guest's
// record format (vmtest/proto) and the console classifier (vmtest/crash,
// which reads kernel log text and imports only the standard library; the
// walk below holds it to that).
func vmFree(pkg string) string {
	switch {
	case pkg == "vmtest/proto", pkg == "vmtest/crash":
		return ""
	case pkg == "vmtest" || strings.HasPrefix(pkg, "vmtest/"):
		return "is VM code (it boots or drives QEMU, or reads what a VM wrote as it ran)"
	case pkg == "kernel" || strings.HasPrefix(pkg, "kernel/"):
		return "builds kernels"
	case pkg == "runner" || strings.HasPrefix(pkg, "runner/"), strings.HasPrefix(pkg, "cmd/"):
		return "orchestrates runs (runner calls the judge, not the other way)"
	}
	return ""
}

// The judge imports no VM or kernel code, directly or through the
// module's packages, and runs no programs itself (os/exec): it is what a
// finished run is judged with, without a kernel. (The fsck check runs
// the filesystem's fsck through ondisk/mkfs, which owns those tools.)
func TestJudgeImportsNoVMOrKernel(t *testing.T) {
	for _, path := range imports(t, ".") {
		assert.NotEqual(t, "os/exec", path, "the judge runs a program itself")
	}
	seen := map[string]string{} // module package -> the package that imports it
	queue := []string{""}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		dir := "."
		if pkg != "" {
			dir = filepath.Join("..", filepath.FromSlash(pkg))
		}
		for _, path := range imports(t, dir) {
			dep, ok := strings.CutPrefix(path, module)
			if !ok {
				continue
			}
			if _, done := seen[dep]; done || dep == "judge" {
				continue
			}
			by := "judge"
			if pkg != "" {
				by = pkg
			}
			seen[dep] = by
			if why := vmFree(dep); why != "" {
				t.Errorf("judge depends on %s (imported by %s), which %s", dep, by, why)
			}
			queue = append(queue, dep)
		}
	}
	assert.Contains(t, seen, "reference", "the walk followed the judge's imports")
	assert.Contains(t, seen, "vmtest/proto")
	// vmtest/crash stays a plain text classifier.
	for _, path := range imports(t, "../vmtest/crash") {
		assert.False(t, strings.HasPrefix(path, module) || path == "os/exec", "vmtest/crash imports %s", path)
	}
}

// vmFree refuses what it should (the test above passes only if it works).
func TestVMFreeRefusesVMAndKernelPackages(t *testing.T) {
	for _, pkg := range []string{"vmtest", "vmtest/logwrites", "kernel", "runner", "cmd/iomapct"} {
		assert.NotEmpty(t, vmFree(pkg), pkg)
	}
	for _, pkg := range []string{"vmtest/proto", "vmtest/crash", "reference", "ondisk/xfs", "cases"} {
		assert.Empty(t, vmFree(pkg), pkg)
	}
}
