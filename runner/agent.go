package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// AgentPackage is the guest agent's import path.
const AgentPackage = "github.com/iomapct/iomapct/cmd/iomapct-agent"

// BuildAgent compiles the static guest agent with the Go build cache (about
// a second when warm) into dir and returns its path. It needs this module's
// source: the current directory's module, or the one this binary was built
// from.
func BuildAgent(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("build guest agent: %w (or pass a prebuilt one with --agent)", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "iomapct-agent")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, AgentPackage)
	cmd.Dir = root
	// Static, and GOAMD64=v1 so it runs on QEMU's default CPU model.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", AgentPackage, err, b)
	}
	return out, nil
}

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
