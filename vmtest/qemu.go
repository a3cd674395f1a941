package vmtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/iomapct/iomapct/internal/shell"
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
	Disks []string
	// WriteLogs, where set (same index as Disks), records every write and
	// flush the guest sends to that disk into the named file, through
	// QEMU's blklogwrites driver (see LoggedDriveArgs).
	WriteLogs []string
	// PackDisks attaches the disks as the eight functions of consecutive
	// PCI slots (see PackedDriveArgs), for many more disks than slots.
	PackDisks bool
	MemMiB    int // default 512
	CPUs      int // default 1
	// Dir receives console.log (timestamped) and results.jsonl.
	Dir string
	// Timeout bounds the whole VM; 0 means 10 minutes.
	Timeout time.Duration
	// CaseTimeout bounds each case, from its Start record to its Result,
	// and any other silence of the guest once the agent has reported
	// (mount, unmount, leaving); 0 means DefaultCaseTimeout, below zero
	// disables it. Past it QEMU is killed and Outcome.Hang says why.
	CaseTimeout time.Duration
	// OnRecord, if set, sees each result record as it arrives (live
	// progress); records are on disk in results.jsonl before it is called.
	OnRecord func(proto.Record)
	// Stdin, if set, is the guest's serial console input, and Console
	// receives the console output as it comes (besides console.log): an
	// interactive session (iomapct shell). A terminal given as Stdin is
	// put in raw mode by QEMU for the session.
	Stdin   io.Reader
	Console io.Writer
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
	// Hang is set when the per-case watchdog killed QEMU; the records
	// before it are in Stream as usual.
	Hang *Hang
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

// tscAppend gives a TCG guest its TSC rate (tsc_early_khz, the host's;
// see hostTSCkHz). Otherwise the kernel calibrates the TSC against the PIT,
// which under TCG takes tens of milliseconds and as often as not fails
// ("tsc: Unable to calibrate against PIT"), leaving the guest on the
// 4 ms jiffies clocksource and on udelay loops timed by lpj. KVM guests
// get the rate from KVM.
func tscAppend(accel string) string {
	if khz := hostTSCkHz(); accel == "tcg" && khz > 0 {
		return fmt.Sprintf(" tsc_early_khz=%d", khz)
	}
	return ""
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
		"-m", fmt.Sprint(mem), "-smp", smp(cpus),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", m.Kernel, "-initrd", m.Initramfs,
		"-append", strings.TrimSpace(BaseAppend + tscAppend(accel) + " " + m.Append),
		"-serial", "stdio",
		"-device", "virtio-rng-pci",
		"-device", "virtio-serial-pci",
		"-chardev", results + ",id=results",
		"-device", "virtserialport,chardev=results,name=" + proto.PortName,
	}
	for i, d := range m.Disks {
		if i < len(m.WriteLogs) && m.WriteLogs[i] != "" {
			args = append(args, LoggedDriveArgs(i, d, m.WriteLogs[i])...)
			continue
		}
		if m.PackDisks {
			args = append(args, PackedDriveArgs(i, d)...)
			continue
		}
		args = append(args,
			"-drive", fmt.Sprintf("file=%s,format=raw,if=none,id=disk%d,cache=unsafe", d, i),
			"-device", fmt.Sprintf("virtio-blk-pci,drive=disk%d", i))
	}
	return args
}

// Run boots the machine and waits for it to end. Console and results are
// written to m.Dir as they arrive, so nothing is lost when the guest dies.
// A guest that hangs (see Machine.CaseTimeout) is killed and described in
// Outcome.Hang. The error is for the host side: QEMU missing, the caller's
// context ended, or QEMU killed by someone else (a *KilledError); the
// Outcome is returned with it whenever QEMU ran.
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
	if m.CaseTimeout == 0 {
		m.CaseTimeout = DefaultCaseTimeout
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
	resultsW := &stickyWriter{w: resultsF, name: o.Results}

	args := m.Args("socket,path=" + sock)
	cmd := exec.Command(m.QEMU, args...)
	// QEMU never outlives us: the kernel kills it when we die, even by
	// SIGKILL (PR_SET_PDEATHSIG; it fires when the thread that started it
	// exits, and Go only ends threads locked by LockOSThread, which this
	// package never does). Its own process group keeps a terminal's ^C
	// from reaching it behind our back: we end it (see below) after the
	// records so far are safe.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	o.Cmdline = shellQuote(append([]string{m.QEMU}, m.Args("file,path="+filepath.Join(m.Dir, "repro-results.jsonl"))...))
	// exec copies QEMU's output into the console and Wait waits for the
	// copies, so the last lines before an exit are never lost.
	o.Started = time.Now()
	con := newConsole(&stickyWriter{w: consoleF, name: o.ConsoleLog}, o.Started)
	serialOut, qemuErr := con.stream(false), con.stream(true)
	cmd.Stdout, cmd.Stderr = serialOut, qemuErr
	if m.Console != nil {
		cmd.Stdout = io.MultiWriter(serialOut, m.Console)
	}
	cmd.Stdin = m.Stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}

	wd := newWatchdog(m.CaseTimeout)
	resultsDone := make(chan *proto.Stream, 1)
	// The port is two-way: the watchdog writes its request on it.
	port := make(chan net.Conn, 1)
	dumped := make(chan struct{})
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			resultsDone <- &proto.Stream{}
			return
		}
		defer conn.Close()
		port <- conn
		// A failed write (a full disk) must not stop the reading, which
		// would stall the guest; it is kept and reported after the run.
		tee := io.TeeReader(conn, resultsW)
		s, _ := proto.Read(tee, func(r proto.Record) {
			if o.Ready.IsZero() {
				o.Ready = time.Now()
			}
			wd.observe(r)
			if r.Type == proto.Log && r.Name == proto.DumpBlocked {
				select {
				case <-dumped:
				default:
					close(dumped)
				}
			}
			if m.OnRecord != nil {
				m.OnRecord(r)
			}
		})
		resultsDone <- s
	}()

	exited := make(chan struct{})
	hung := make(chan *Hang, 1)
	go func() { hung <- wd.wait(exited) }()
	// The one place QEMU is killed from here; anything else that kills it
	// is someone else.
	var killed string
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		deadline := time.NewTimer(m.Timeout)
		defer deadline.Stop()
		select {
		case <-exited:
			return
		case <-ctx.Done():
			killed = "interrupted"
		case <-deadline.C:
			killed, o.TimedOut = "deadline", true
		case h := <-hung:
			if h == nil {
				return
			}
			h.Dumped = askDump(<-port, dumped, exited)
			h.For = time.Since(wd.snapshot().since)
			killed, o.Hang = "watchdog", h
		}
		cmd.Process.Kill()
	}()

	o.ExitErr = cmd.Wait()
	o.Ended = time.Now()
	close(exited)
	<-stopped
	serialOut.(*lineWriter).close()
	qemuErr.(*lineWriter).close()
	ln.Close() // unblocks Accept if QEMU never connected
	o.Stream = <-resultsDone
	if ctx.Err() != nil {
		return o, fmt.Errorf("VM run interrupted: %w", context.Cause(ctx))
	}
	// The records are in memory whatever happened to the files; a file
	// that could not be written is an infrastructure error naming it.
	for _, err := range []error{resultsW.failed(), con.failed()} {
		if err != nil {
			return o, err
		}
	}
	if killed == "" {
		if err := externalKill(cmd.ProcessState, con.qemuLines(), wd.snapshot(), o.Results); err != nil {
			return o, err
		}
	}
	return o, nil
}

// KilledError is QEMU ended by a signal this package did not send
// (someone ran kill, the OOM killer, a closed terminal): neither the
// kernel nor the cases are to blame, so it is an error, not an outcome.
type KilledError struct {
	// Signal is how QEMU ended, e.g. "killed" or "terminating on signal 15
	// from pid 4242 (kill)" (QEMU's own words when it caught the signal).
	Signal string
	// Case is the case the guest was running ("" between cases); After
	// the last record the host received.
	Case, After string
	Results     string
}

func (e *KilledError) Error() string {
	where := "while the guest ran case " + e.Case
	switch {
	case e.Case != "":
	case e.After != "":
		where = "after the guest's " + e.After
	default:
		where = "before the guest agent reported"
	}
	how := "was killed from outside"
	if e.Fault() {
		how = "crashed" // its own fault, not a signal someone sent
	}
	return fmt.Sprintf("QEMU %s (%s) %s; the records received until then are in %s", how, e.Signal, where, e.Results)
}

// Fault reports whether QEMU died of a fault of its own (SIGSEGV, SIGBUS,
// SIGABRT, SIGILL) rather than a signal sent to it.
func (e *KilledError) Fault() bool {
	switch e.Signal {
	case syscall.SIGSEGV.String(), syscall.SIGBUS.String(), syscall.SIGABRT.String(), syscall.SIGILL.String():
		return true
	}
	return false
}

// externalKill returns a *KilledError when QEMU died of a signal or quit on
// one (QEMU catches SIGTERM, SIGINT and SIGHUP, says so on stderr and exits
// 0).
func externalKill(ps *os.ProcessState, qemuLines []string, a activity, results string) error {
	sig := ""
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig = ws.Signal().String()
	}
	for _, l := range qemuLines {
		if i := strings.Index(l, "terminating on signal"); i >= 0 {
			sig = l[i:]
		}
	}
	if sig == "" {
		return nil
	}
	return &KilledError{Signal: sig, Case: a.running, After: a.last, Results: results}
}

// askDump asks the agent to have the kernel print its blocked (D state)
// tasks' stacks on the console, so the log shows where the hung case is
// stuck, and waits until the agent says it is done. The agent serves this
// on a goroutine of its own, which runs while the case's thread is stuck in
// the kernel. (A serial break could ask the kernel directly, even with
// user space wedged, but needs CONFIG_MAGIC_SYSRQ_SERIAL, which the config
// leaves off.) It gives up after dumpWait: a guest spinning in the kernel
// never answers.
func askDump(conn net.Conn, dumped, exited <-chan struct{}) bool {
	if _, err := io.WriteString(conn, proto.DumpBlocked+"\n"); err != nil {
		return false
	}
	give := time.NewTimer(dumpWait)
	defer give.Stop()
	select {
	case <-dumped:
		return true
	case <-give.C:
	case <-exited:
	}
	return false
}

// dumpWait bounds the dump: on one TCG CPU it takes well under a second
// for a handful of tasks. A variable so that a test of a mute guest need
// not wait for it.
var dumpWait = 10 * time.Second

func shellQuote(args []string) string { return shell.Join(args...) }

// stickyWriter writes through to w until a write fails, then keeps the
// first error and swallows the rest, so the stream feeding it keeps moving.
type stickyWriter struct {
	w    io.Writer
	name string
	mu   sync.Mutex
	err  error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		if _, err := s.w.Write(p); err != nil {
			s.err = err // an *os.PathError names the file
			if _, ok := err.(*os.PathError); !ok {
				s.err = fmt.Errorf("writing %s: %w", s.name, err)
			}
		}
	}
	return len(p), nil
}

func (s *stickyWriter) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// smp is the -smp value for n vCPUs. Without ACPI the guest finds its CPUs
// in SeaBIOS's MP table, which lists one per socket: "-smp 2" boots one
// CPU, "-smp 2,sockets=2,cores=1" boots two.
func smp(n int) string {
	if n <= 1 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d,sockets=%d,cores=1", n, n)
}
