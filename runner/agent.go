package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/iomapct/iomapct/internal/cachedir"
	"github.com/iomapct/iomapct/kernel"
)

// AgentPackage is the guest agent's import path.
const AgentPackage = "github.com/iomapct/iomapct/cmd/iomapct-agent"

// BuildAgent compiles the static guest agent with the Go build cache (about
// a second when warm) into dir and returns its path. It needs this module's
// source: the current directory's module, or the one this binary was built
// from.
//
// The file is named by its content (iomapct-agent-<sha256 prefix>) and
// moved into place atomically: dir is shared by every checkout on the
// machine (it lives in the user cache), so two runs from different
// checkouts building at once must never boot each other's agent, which a
// single fixed name overwritten in place allowed.
func BuildAgent(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("build guest agent: %w (or pass a prebuilt one with --agent)", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".iomapct-agent-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // after the rename: a no-op
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp.Name(), AgentPackage)
	cmd.Dir = root
	// Static, and GOAMD64=v1 so it runs on QEMU's default CPU model.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", AgentPackage, err, b)
	}
	sum, err := kernel.HashFile(tmp.Name())
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "iomapct-agent-"+sum[:16])
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	if old, err := filepath.Glob(filepath.Join(dir, "iomapct-agent-*")); err == nil {
		for _, p := range cachedir.Oldest(old, keepAgents, cachedir.ModTime) {
			os.Remove(p)
		}
	}
	return out, nil
}

// keepAgents is how many agents of different content BuildAgent leaves in
// its directory (one per checkout or revision of the agent in use).
const keepAgents = 8

func moduleRoot(ctx context.Context) (string, error) {
	if b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output(); err == nil {
		if p := strings.TrimSpace(string(b)); p != "" && p != os.DevNull {
			if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), "module github.com/iomapct/iomapct") {
				return filepath.Dir(p), nil
			}
		}
	}
	// Fall back to the source tree this file was compiled from.
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	return "", fmt.Errorf("not inside the iomapct module")
}
