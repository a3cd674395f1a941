package shell

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each word comes back from a real POSIX shell (dash and bash) exactly as it went in.
func TestQuoteSurvivesTheShell(t *testing.T) {
	words := []string{
		"plain", "", "two words", `back\slash`, "back`tick`", "$HOME", "${x:-y}", "bang!", "!!", "new\nline",
		"it's", `"double"`, "tab\there", "glob*?[a]", "semi;colon&amp|pipe", "(sub)", "<in>", "~tilde", "#hash",
		"file=a.img,if=virtio", "-dash", "ünïcode", "'", "''", `\'`,
	}
	for _, sh := range []string{"sh", "bash"} {
		path, err := exec.LookPath(sh)
		require.NoError(t, err, "%s is part of every Debian install", sh)
		out, err := exec.Command(path, "-c", "printf '%s\\0' "+Join(words...)).Output()
		require.NoError(t, err, sh)
		got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		assert.Equal(t, words, got, sh)
	}
}

func TestQuoteLeavesSafeWordsBare(t *testing.T) {
	assert.Equal(t, "qemu-system-x86_64 -drive file=/tmp/a.img,if=virtio 'a b' ''", Join("qemu-system-x86_64", "-drive", "file=/tmp/a.img,if=virtio", "a b", ""))
	assert.Equal(t, `'it'\''s'`, Quote("it's"))
}
