package vmtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/iomapct/iomapct/vmtest/proto"
)

// Machine describes one VM run.
type Machine struct {
	QEMU      string // default qemu-system-x86_64
	Kernel    string
	Initramfs string
	// Append is added to the kernel command line.
	Append string
	// Disks are raw images attached as virtio-blk vda, vdb, ... in order.
	Disks  []string
	MemMiB int // default 512
	CPUs   int // default 1
	// Dir receives console.log (timestamped) and results.jsonl.
	Dir string
	// Timeout bounds the whole VM; 0 means 10 minutes.
	Timeout time.Duration
	// OnRecord, if set, sees each result record as it arrives (live
	// progress); records are on disk in results.jsonl before it is called.
	OnRecord func(proto.Record)
}

// Outcome is how a VM run ended.
type Outcome struct {
	Stream     *proto.Stream
	ConsoleLog string
	Results    string
	// Started is when QEMU was started; Ready when the agent's first
	// record arrived (zero if it never did); Ended when QEMU exited.
	Started, Ready, Ended time.Time
	// TimedOut is true when the deadline killed QEMU.
	TimedOut bool
	// ExitErr is QEMU's own exit error, if any.
	ExitErr error
	// Cmdline reproduces the run from a shell.
	Cmdline string
}

// BaseAppend is the kernel command line every VM gets. panic=-1 reboots at
// once on a panic (and -no-reboot makes that a QEMU exit); oops=panic turns
// an oops in a kernel thread, which would otherwise leave the agent waiting
// until the VM deadline, into that same prompt exit. loglevel=5 keeps
// warnings and worse on the console but hides chatter (each byte is slow
// under TCG; per-case kernel messages travel through /dev/kmsg instead);
// lpj, no_timer_check, tsc=reliable and noapictimer skip delay-loop
// calibration, timer checks and the local APIC timer's verification (which
// fails under TCG anyway, after 0.3 s): together about half a second of a
// TCG boot, and meaningless in a one-CPU test VM, which ticks from the PIT.
const BaseAppend = "console=ttyS0 panic=-1 oops=panic loglevel=5 rdinit=/init lpj=5000000 no_timer_check tsc=reliable noapictimer"

// KVM reports whether /dev/kvm can be used; otherwise QEMU runs under TCG.
// An openable /dev/kvm is not enough: this project's machines have one
// but no vmx/svm in the CPU flags, and a guest started with -accel kvm
// there dies after a minute with "KVM internal error ... emulation
// failure" (seen here). KVM needs the hardware extensions, so check them.
func KVM() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	cpuinfo, err := os.ReadFile("/proc/cpuinfo")
	return err == nil && hasVirtFlag(cpuinfo)
}

// hasVirtFlag reports whether a /proc/cpuinfo text lists vmx (Intel VT-x)
// or svm (AMD-V) among the CPU flags.
func hasVirtFlag(cpuinfo []byte) bool {
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		name, flags, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != "flags" {
			continue
		}
		for _, f := range strings.Fields(flags) {
			if f == "vmx" || f == "svm" {
				return true
			}
		}
	}
	return false
}

// Args is the QEMU command line. The guest leaves by reboot, which
// -no-reboot turns into a QEMU exit: without ACPI a power-off only halts.
// pc, not microvm: microvm hangs intermittently under TCG.
// results is the chardev backend of the result port, e.g. "socket,path=S"
// (the runner listens) or "file,path=F" (for a hand-run reproduction).
func (m Machine) Args(results string) []string {
	mem, cpus := m.MemMiB, m.CPUs
	if mem == 0 {
		mem = 512
	}
	if cpus == 0 {
		cpus = 1
	}
	accel := "tcg"
	if KVM() {
		accel = "kvm"
	}
	// SeaBIOS, not qboot: qboot boots a second faster but leaves no PCI
	// interrupt routing in the MP table, so virtio devices get no IRQ and
	// the guest hangs (seen here).
	args := []string{"-M", "pc", "-accel", accel,
		"-m", fmt.Sprint(mem), "-smp", fmt.Sprint(cpus),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", m.Kernel, "-initrd", m.Initramfs,
		"-append", strings.TrimSpace(BaseAppend + " " + m.Append),
		"-serial", "stdio",
		"-device", "virtio-rng-pci",
		"-device", "virtio-serial-pci",
		"-chardev", results + ",id=results",
		"-device", "virtserialport,chardev=results,name=" + proto.PortName,
	}
	for i, d := range m.Disks {
		args = append(args,
			"-drive", fmt.Sprintf("file=%s,format=raw,if=none,id=disk%d,cache=unsafe", d, i),
			"-device", fmt.Sprintf("virtio-blk-pci,drive=disk%d", i))
	}
	return args
}

// Run boots the machine and waits for it to end. Console and results are
// written to m.Dir as they arrive, so nothing is lost when the guest dies.
func Run(ctx context.Context, m Machine) (*Outcome, error) {
	if m.QEMU == "" {
		m.QEMU = "qemu-system-x86_64"
	}
	if _, err := exec.LookPath(m.QEMU); err != nil {
		return nil, fmt.Errorf("%s not found (apt-get install qemu-system-x86): %w", m.QEMU, err)
	}
	if m.Timeout == 0 {
		m.Timeout = 10 * time.Minute
	}
	if err := os.MkdirAll(m.Dir, 0o755); err != nil {
		return nil, err
	}
	o := &Outcome{ConsoleLog: filepath.Join(m.Dir, "console.log"), Results: filepath.Join(m.Dir, "results.jsonl")}

	// We listen, QEMU connects: the socket exists before QEMU starts, so
	// there is no start-up race to poll through. The path is short because
	// sun_path holds 108 bytes.
	sockDir, err := os.MkdirTemp("", "iomapct-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "r.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	defer ln.Close()

	consoleF, err := os.Create(o.ConsoleLog)
	if err != nil {
		return nil, err
	}
	defer consoleF.Close()
	resultsF, err := os.Create(o.Results)
	if err != nil {
		return nil, err
	}
	defer resultsF.Close()

	vctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	args := m.Args("socket,path=" + sock)
	cmd := exec.CommandContext(vctx, m.QEMU, args...)
	o.Cmdline = shellQuote(append([]string{m.QEMU}, m.Args("file,path="+filepath.Join(m.Dir, "repro-results.jsonl"))...))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	o.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		copyTimestamped(consoleF, stdout, o.Started)
	}()

	resultsDone := make(chan *proto.Stream, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			resultsDone <- &proto.Stream{}
			return
		}
		defer conn.Close()
		tee := io.TeeReader(conn, resultsF)
		s, _ := proto.Read(tee, func(r proto.Record) {
			if o.Ready.IsZero() {
				o.Ready = time.Now()
			}
			if m.OnRecord != nil {
				m.OnRecord(r)
			}
		})
		resultsDone <- s
	}()

	o.ExitErr = cmd.Wait()
	o.Ended = time.Now()
	if errors.Is(vctx.Err(), context.DeadlineExceeded) {
		o.TimedOut = true
	}
	ln.Close() // unblocks Accept if QEMU never connected
	<-consoleDone
	o.Stream = <-resultsDone
	if ctx.Err() != nil {
		return o, fmt.Errorf("VM run interrupted: %w", ctx.Err())
	}
	return o, nil
}

// copyTimestamped copies console lines prefixed with the seconds since the
// VM started, so a log says when each line came without trusting the guest.
func copyTimestamped(w io.Writer, r io.Reader, start time.Time) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			fmt.Fprintf(w, "[%8.3f] %s", time.Since(start).Seconds(), strings.TrimRight(line, "\r\n")+"\n")
		}
		if err != nil {
			return
		}
	}
}

func shellQuote(args []string) string {
	var out []string
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$,;&|<>()*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}
