package vmtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/vmtest/proto"
)

// fakeEnv selects the fake QEMU: the test binary, run with this variable
// set, plays QEMU with the script it holds (see fakeQEMU).
const fakeEnv = "IOMAPCT_FAKE_QEMU"

func TestMain(m *testing.M) {
	if dir, ok := os.LookupEnv(fakeHostEnv); ok {
		fakeHost(dir)
		return
	}
	if script, ok := os.LookupEnv(fakeEnv); ok {
		if pf := os.Getenv(fakePIDEnv); pf != "" {
			writePID(pf)
		}
		fakeQEMU(script)
		return
	}
	os.Exit(m.Run())
}

// fakeQEMU connects to the result socket named on its command line, as
// QEMU does, and plays script: ';'-separated steps "ready", "start NAME",
// "result NAME", "done", "hang" (send nothing more but answer the dump
// request like the agent and kernel), "mute" (send and answer nothing),
// "kill" (SIGKILL itself, as someone else would), "term" (quit the way QEMU
// does on SIGTERM), "stay" (run until killed, host or no host).
func fakeQEMU(script string) {
	var sock string
	for _, a := range os.Args {
		if p, ok := strings.CutPrefix(a, "socket,path="); ok {
			sock, _, _ = strings.Cut(p, ",")
		}
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake qemu:", err)
		os.Exit(1)
	}
	em := proto.NewEmitter(conn)
	fmt.Println("fake kernel: booted")
	for _, step := range strings.Split(script, ";") {
		typ, name, _ := strings.Cut(step, " ")
		switch typ {
		case proto.Ready, proto.Start, proto.Result, proto.Done:
			em.Emit(typ, name, nil, nil)
		case "hang":
			sc := bufio.NewScanner(conn)
			for sc.Scan() {
				if sc.Text() == proto.DumpBlocked {
					fmt.Println("[   12.100000] sysrq: Show Blocked State")
					fmt.Println("[   12.100001] task:init            state:D stack:0     pid:1")
					em.Emit(proto.Log, proto.DumpBlocked, nil, nil)
				}
			}
		case "mute":
			io.Copy(io.Discard, conn) // until the host kills us
		case "stay":
			for { // like QEMU, whatever happens to the host's socket
				time.Sleep(time.Hour)
			}
		case "kill":
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		case "term":
			fmt.Fprintf(os.Stderr, "qemu-system-x86_64: terminating on signal 15 from pid %d (kill)\n", os.Getppid())
			os.Exit(0)
		}
	}
	os.Exit(0)
}

func fakeMachine(t *testing.T, script string) Machine {
	t.Setenv(fakeEnv, script)
	// Under -race the fake would otherwise linger a second after exiting
	// (the race runtime's atexit sleep), past the one-second limits here.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	exe, err := os.Executable()
	require.NoError(t, err)
	return Machine{QEMU: exe, Kernel: "bzImage", Initramfs: "initrd", Dir: t.TempDir(), CaseTimeout: time.Second}
}

func TestRunWatchdogKillsAHungCase(t *testing.T) {
	m := fakeMachine(t, "ready;start d/a;result d/a;start d/b;hang")
	var seen []string
	m.OnRecord = func(r proto.Record) { seen = append(seen, r.Type+" "+r.Name) }
	o, err := Run(context.Background(), m)
	require.NoError(t, err, "a hang is the guest's outcome, not a host error")
	require.NotNil(t, o.Hang)
	assert.Equal(t, "d/b", o.Hang.Case)
	assert.Equal(t, "start d/b", o.Hang.After)
	assert.GreaterOrEqual(t, o.Hang.For, time.Second)
	assert.True(t, o.Hang.Dumped)
	assert.False(t, o.TimedOut)
	assert.Contains(t, o.Hang.String(), "case d/b hung: no result after")
	// The earlier case's result survives, in the stream and on disk.
	assert.Equal(t, []string{"ready ", "start d/a", "result d/a", "start d/b", "log " + proto.DumpBlocked}, seen)
	require.Len(t, o.Stream.Records, 5)
	assert.False(t, o.Stream.Complete)
	onDisk, err := os.ReadFile(o.Results)
	require.NoError(t, err)
	assert.Contains(t, string(onDisk), `"type":"result","name":"d/a"`)
	con, err := os.ReadFile(o.ConsoleLog)
	require.NoError(t, err)
	assert.Contains(t, string(con), "sysrq: Show Blocked State")
	assert.Contains(t, string(con), "task:init            state:D", "the dump reaches the console before the kill")
}

func TestRunWatchdogKillsAMuteGuest(t *testing.T) {
	old := dumpWait
	dumpWait = 100 * time.Millisecond
	defer func() { dumpWait = old }()
	m := fakeMachine(t, "ready;start d/a;result d/a;mute")
	o, err := Run(context.Background(), m)
	require.NoError(t, err)
	require.NotNil(t, o.Hang)
	assert.Equal(t, "", o.Hang.Case, "no case was running")
	assert.Equal(t, "result d/a", o.Hang.After)
	assert.False(t, o.Hang.Dumped)
	assert.Contains(t, o.Hang.String(), "went quiet")
	assert.Contains(t, o.Hang.String(), "did not answer the request for a stack dump")
}

func TestRunNamesAnOutsideKill(t *testing.T) {
	for _, tc := range []struct{ script, signal string }{
		{"ready;start d/a;result d/a;start d/b;kill", "(killed)"},
		{"ready;start d/a;result d/a;start d/b;term", "(terminating on signal 15 from pid"},
	} {
		m := fakeMachine(t, tc.script)
		m.CaseTimeout = time.Hour
		o, err := Run(context.Background(), m)
		var ke *KilledError
		require.True(t, errors.As(err, &ke), "want a *KilledError, got %v", err)
		assert.Equal(t, "d/b", ke.Case)
		assert.Contains(t, err.Error(), "QEMU was killed from outside "+tc.signal)
		assert.Contains(t, err.Error(), "while the guest ran case d/b")
		require.NotNil(t, o, "the outcome comes with the error")
		assert.Nil(t, o.Hang)
		assert.Len(t, o.Stream.Records, 4, "results before the kill survive")
	}
}

func TestRunCleanAndDeadline(t *testing.T) {
	m := fakeMachine(t, "ready;start d/a;result d/a;done")
	m.CaseTimeout = time.Minute // however slow the fake is to exit
	o, err := Run(context.Background(), m)
	require.NoError(t, err)
	assert.True(t, o.Stream.Complete)
	assert.Nil(t, o.Hang)
	assert.False(t, o.TimedOut)
	con, err := os.ReadFile(o.ConsoleLog)
	require.NoError(t, err)
	assert.Regexp(t, `^\[ *\d+\.\d{3}\] fake kernel: booted\n`, string(con))

	// The VM deadline still applies when the watchdog would wait longer.
	m = fakeMachine(t, "ready;start d/a;mute")
	m.CaseTimeout, m.Timeout = time.Hour, time.Second
	o, err = Run(context.Background(), m)
	require.NoError(t, err)
	assert.True(t, o.TimedOut)
	assert.Nil(t, o.Hang)
}
