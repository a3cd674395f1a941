package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A script on stdin runs in the guest's shell after the replayed case,
// sees the file the case wrote through the kernel under test, and ends the
// session (the disks are unmounted, the VM leaves, iomapct exits 0).
func TestShellFromStdin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the kernel")
	}
	bin, root := buildCLI(t)
	ops := filepath.Join(t.TempDir(), "case.ops")
	require.NoError(t, os.WriteFile(ops, []byte("pwrite 0x10 0x20\n"), 0o644))
	cmd := exec.Command(bin, "shell", "--after", ops, "--out", filepath.Join(t.TempDir(), "shell"))
	cmd.Dir = root
	cmd.Stdin = strings.NewReader("ls /mnt/ext4-4k\nhexdump /mnt/ext4-4k/after\necho made > /mnt/ext4-4k/new\ncat /mnt/ext4-4k/new\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "iomapct shell: replayed after into /mnt/ext4-4k/after: 1 ops done, size 48")
	assert.Contains(t, out, "lost+found")
	// Op 0's bytes (cases.Data) at 0x10, zeros before them.
	assert.Contains(t, out, "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00")
	assert.Contains(t, out, "00000010  01 3a 01 41 01 48 01 4f")
	assert.Contains(t, out, "$ made\n", "cat prints what echo wrote, after the prompt")
}

// On a terminal the session is interactive: keys go to the guest's shell
// as typed, its output comes back, and `exit` ends it.
func TestShellOnATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots the kernel")
	}
	bin, root := buildCLI(t)
	cmd := exec.Command(bin, "shell", "--out", filepath.Join(t.TempDir(), "shell"))
	cmd.Dir = root
	ptmx, err := pty.Start(cmd)
	require.NoError(t, err)
	defer ptmx.Close()

	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(ptmx)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	waitFor := func(what string) {
		t.Helper()
		deadline := time.After(5 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("session ended before %q:\n%s", what, strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if strings.Contains(l, what) {
					return
				}
			case <-deadline:
				t.Fatalf("no %q within 5 minutes:\n%s", what, strings.Join(seen, "\n"))
			}
		}
	}
	waitFor("'exit' (or end of input)")
	_, err = ptmx.Write([]byte("echo typed-$((6*7))\r"))
	require.NoError(t, err)
	waitFor("typed-42")
	_, err = ptmx.Write([]byte("exit\r"))
	require.NoError(t, err)
	waitFor("session over")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "%s", strings.Join(seen, "\n"))
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("iomapct shell did not exit after the session:\n%s", strings.Join(seen, "\n"))
	}
}
