package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/vmtest"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// ShellCommands are u-root's commands that iomapct shell puts in the
// guest's /bin: its shell (gosh) and what a developer reaches for to look
// at a file and the page cache. go.mod lists them as tools, so they build
// from the module cache like the agent.
var ShellCommands = []string{"gosh", "ls", "cat", "hexdump", "dd", "mount", "umount", "dmesg",
	"mkdir", "rm", "cp", "echo", "sync", "df", "grep", "head", "tail", "wc", "truncate", "strings"}

// Shell boots the kernel of o with the images of o.Matrix made and mounted
// at /mnt/<disk>, runs o.Cases' ops into their files first (iomapct shell
// --after), and connects the guest's console to stdin and stdout until the
// shell exits. The run directory keeps the console log and the images.
func Shell(ctx context.Context, o Options, stdin io.Reader, stdout io.Writer) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return err
	}
	rep := &Report{Revision: o.Revision, Out: o.Out}
	st := &stager{r: rep, log: o.Log, last: time.Now()}
	art, _, err := o.kernel(ctx, cache, st)
	if err != nil {
		return err
	}
	plan, err := makePlan(ctx, o, rep)
	if err != nil {
		return err
	}
	plan.Shell = &cases.ShellPlan{Shell: "/bin/gosh", Path: "/bin"}
	var images []string
	for _, d := range plan.Disks {
		images = append(images, imagePath(o.Out, d.Name))
	}
	agent := o.Agent
	if agent == "" {
		if agent, err = BuildAgent(ctx, filepath.Join(cache, "agent")); err != nil {
			return err
		}
	}
	bin, err := buildShellCommands(ctx, filepath.Join(cache, "shell"))
	if err != nil {
		return err
	}
	planJSON, _ := json.MarshalIndent(plan, "", " ")
	files := []vmtest.File{{Path: "init", Host: agent}, {Path: "plan.json", Data: planJSON}}
	for _, c := range ShellCommands {
		files = append(files, vmtest.File{Path: "bin/" + c, Host: filepath.Join(bin, c)})
	}
	initrd, _, err := vmtest.Initramfs(filepath.Join(cache, "initramfs"), files)
	if err != nil {
		return err
	}
	st.done("initramfs", fmt.Sprintf("%d disks, %d commands", len(plan.Disks), len(ShellCommands)))
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		// Keys go to the guest as typed: its line discipline echoes and
		// edits, and ^C interrupts the guest's command, not iomapct.
		old, err := term.MakeRaw(int(f.Fd()))
		if err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
		defer term.Restore(int(f.Fd()), old)
	} else {
		// A script on stdin: the guest's console never sees the end of
		// the input, so the session ends with the script.
		stdin = io.MultiReader(stdin, strings.NewReader("\nexit\n"))
	}
	if f, ok := stdout.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		// The serial line ends lines with CR LF; a file or a pipe wants LF.
		stdout = crDropper{stdout}
	}
	// Nothing is sent before the shell runs: the UART drops what arrives
	// while the kernel boots, and the agent reads nothing before.
	ready := make(chan struct{})
	var once sync.Once
	stdin = &gatedReader{r: stdin, open: ready}
	// QEMU reads a pipe we feed, not stdin itself: exec waits for a
	// copying goroutine it owns to finish, and one reading a terminal
	// would never finish after the guest has left.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	defer pw.Close()
	go func() {
		io.Copy(pw, stdin)
		pw.Close()
	}()
	timeout := o.VMTimeout
	if timeout <= 0 {
		timeout = 24 * time.Hour
	}
	out, err := vmtest.Run(ctx, vmtest.Machine{Kernel: vmtest.BootImage(art.BzImage, art.Vmlinux), Initramfs: initrd,
		Disks: images, Dir: o.Out, Timeout: timeout, CaseTimeout: -1, Stdin: pr, Console: stdout,
		OnRecord: func(r proto.Record) {
			if r.Type == proto.Start && r.Name == "shell" {
				once.Do(func() { close(ready) })
			}
		}})
	if err != nil {
		return err
	}
	if !out.Stream.Complete {
		return fmt.Errorf("the guest did not finish the session: %s", crashSummary(out))
	}
	fmt.Fprintf(o.Log, "session over; console log %s, images in %s\r\n", out.ConsoleLog, filepath.Join(o.Out, "images"))
	return nil
}

// crDropper removes carriage returns from what it writes.
type crDropper struct{ w io.Writer }

func (c crDropper) Write(p []byte) (int, error) {
	if _, err := c.w.Write(bytes.ReplaceAll(p, []byte("\r"), nil)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// gatedReader holds reads back until open is closed.
type gatedReader struct {
	r    io.Reader
	open chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	<-g.open
	return g.r.Read(p)
}

// buildShellCommands compiles ShellCommands, static, into dir (the Go
// build cache makes a rebuild about a second).
func buildShellCommands(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("build the shell's commands: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var pkgs []string
	for _, c := range ShellCommands {
		pkgs = append(pkgs, "github.com/u-root/u-root/cmds/core/"+c)
	}
	// goshsmall: gosh without its full-screen line editor, which a serial
	// line (and a script on stdin) cannot drive; it then reads plain lines.
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-trimpath", "-tags", "goshsmall", "-ldflags=-s -w", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, b)
	}
	return dir, nil
}
