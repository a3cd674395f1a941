package cases_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The model imports cases; cases importing the model outside tests would be
// a cycle in spirit (the vocabulary must not depend on its interpreter).
func TestNonTestCodeDoesNotImportReference(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	sub, err := filepath.Glob("*/*.go")
	require.NoError(t, err)
	files = append(files, sub...)
	require.NotEmpty(t, files)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		require.NoError(t, err, f)
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			assert.NotEqual(t, "github.com/iomapct/iomapct/reference", path, "%s imports the reference model", f)
		}
	}
}
