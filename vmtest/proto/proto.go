// Package proto is the result protocol between the guest agent and the
// host: one JSON object per line on a virtio-serial port, never mixed with
// the kernel console. The last record of a complete run has Type "done"; a
// stream without it means the guest died (panic, hang, QEMU killed).
package proto

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// PortName is the virtio-serial port name the host creates and the guest
// looks up under /sys/class/virtio-ports.
const PortName = "iomapct.results"

// Record types.
const (
	Ready = "ready" // the agent runs; sent first
	Start = "start" // a case begins (Name says which)
	Done  = "done"  // the agent finished every case; sent last
	// Result carries a case outcome in Data.
	Result = "result"
	// Log carries a message of the agent itself.
	Log = "log"
	// Unmount carries a disk's unmount outcome (cases.DiskResult) in Data;
	// Name is the disk. (Agents before it sent a Result named
	// "<disk>/umount", which a case named "umount" would look like.)
	Unmount = "unmount"
	// Undecodable is made by Read, never sent: a line that is not a
	// record (a torn last line after a crash, a corrupted write). Raw
	// holds the line, Error why it did not decode.
	Undecodable = "undecodable"
)

// DumpBlocked is the one request the host sends the agent, as a line on the
// same port: have the kernel print the blocked tasks' stacks on the console
// (sysrq-w). The agent answers with a Log record of that name once the dump
// is complete; the host's watchdog asks before it kills a hung guest.
const DumpBlocked = "dump-blocked"

// AgentPanic names the log record a guest agent sends when it panics; its
// Error is the panic value and the stack.
const AgentPanic = "agent-panic"

// Record is one line of the stream.
type Record struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	// T is seconds since the agent started (the guest clock).
	T     float64         `json:"t"`
	Error string          `json:"error,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	// Raw is the line an Undecodable record was read from.
	Raw string `json:"-"`
}

// Emitter writes records; each Emit is one write(2) of one line, so a record
// is on the host side as soon as the call returns.
type Emitter struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

// NewEmitter starts the clock for T.
func NewEmitter(w io.Writer) *Emitter { return &Emitter{w: w, start: time.Now()} }

// Emit sends one record; data (if not nil) is marshalled into Data.
func (e *Emitter) Emit(typ, name string, data any, err error) error {
	r := Record{Type: typ, Name: name, T: time.Since(e.start).Seconds()}
	if err != nil {
		r.Error = err.Error()
	}
	if data != nil {
		b, merr := json.Marshal(data)
		if merr != nil {
			return merr
		}
		r.Data = b
	}
	line, merr := json.Marshal(r)
	if merr != nil {
		return merr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, werr := e.w.Write(append(line, '\n'))
	return werr
}

// Stream is what the host read.
type Stream struct {
	Records []Record
	// Complete is true when a Done record arrived.
	Complete bool
}

// Read parses a stream, calling each (if not nil) as records arrive. A line
// that is not a record is kept in Records as an Undecodable record (each
// is not called for it), so the judge can report it instead of the case
// it may have carried seeming never reported.
func Read(r io.Reader, each func(Record)) (*Stream, error) {
	s := &Stream{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil || rec.Type == "" {
			if err == nil {
				err = fmt.Errorf("no record type")
			}
			s.Records = append(s.Records, Record{Type: Undecodable, Error: err.Error(), Raw: string(line)})
			continue
		}
		s.Records = append(s.Records, rec)
		if rec.Type == Done {
			s.Complete = true
		}
		if each != nil {
			each(rec)
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("result stream: %w", err)
	}
	return s, nil
}

// Decode unmarshals a record's Data.
func (r Record) Decode(v any) error {
	if len(r.Data) == 0 {
		return fmt.Errorf("record %s %q has no data", r.Type, r.Name)
	}
	return json.Unmarshal(r.Data, v)
}
