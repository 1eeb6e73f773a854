// SPDX-License-Identifier: GPL-2.0
// The Go baseline of bench/ringbuf_bench.ts: cilium/ebpf's ringbuf.Reader (ReadInto with a
// reused record, its allocation-free form) decoding every field of each record with
// encoding/binary, over the producer in ringbuf_bench.bpf.o. Same arguments and output as
// the C baseline (bench/ringbuf_bench.c):
//
//	ringbuf_bench_go OBJ KIND MODE COUNT RUNS [RATE]
//	  KIND  16 (struct event16) or exec (struct exec_event)
//	  MODE  drain: fill the ring (the last record wakes the reader), then time the reads
//	        live:  a goroutine writes COUNT records (default wake-ups) while the main one
//	               reads; timed until the last record is read
//	        paced: the same, the producer writing RATE records/s
//
// Built by bench/stream_common.ts with Debian's golang-go and golang-github-cilium-ebpf-dev
// (GOPATH mode: no module download).
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
)

const (
	chunk       = 262144
	rbNoWakeup  = 1
	offTs       = 8
	offExecTs   = 16
	offComm     = 24
	offFilename = 40
)

var (
	sum      uint64
	lastComm string
	lastFile string
)

// cstr is the string up to the first NUL.
func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func decode16(raw []byte) {
	le := binary.LittleEndian
	sum += uint64(le.Uint32(raw[0:])) + uint64(le.Uint32(raw[4:])) + le.Uint64(raw[offTs:])
}

func decodeExec(raw []byte) {
	le := binary.LittleEndian
	comm := cstr(raw[offComm : offComm+16])
	file := cstr(raw[offFilename : offFilename+256])
	sum += uint64(le.Uint32(raw[0:])) + uint64(le.Uint32(raw[4:])) + uint64(le.Uint32(raw[8:])) +
		le.Uint64(raw[offExecTs:]) + uint64(len(comm)) + uint64(len(file))
	lastComm, lastFile = comm, file
}

func counter(m *ebpf.Map, k uint32) uint64 {
	var v uint64
	if err := m.Lookup(k, &v); err != nil {
		return 0
	}
	return v
}

func produce(prog *ebpf.Program, count, flags, rate uint64) {
	n := uint64(chunk)
	due := time.Now()
	if rate > 0 {
		n = rate / 1000
		if n == 0 {
			n = 1
		}
	}
	for left := count; left > 0; {
		k := n
		if left < k {
			k = left
		}
		if _, err := prog.Run(&ebpf.RunOptions{Context: [2]uint64{k, flags}}); err != nil {
			fmt.Fprintln(os.Stderr, "producer:", err)
			os.Exit(1)
		}
		left -= k
		if rate > 0 {
			due = due.Add(time.Millisecond)
			time.Sleep(time.Until(due))
		}
	}
}

// live reads while a goroutine produces; a reader of its own, which the producer closes
// once every record it sent was read (ReadInto has no deadline: closing ends a wait).
func live(m *ebpf.Map, prog *ebpf.Program, counts *ebpf.Map, decode func([]byte),
	count, rate uint64) (uint64, float64) {
	rd, err := ringbuf.NewReader(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reader:", err)
		os.Exit(1)
	}
	var received, sent uint64 = 0, ^uint64(0)
	go func() {
		produce(prog, count, 0, rate)
		n := counter(counts, 0)
		atomic.StoreUint64(&sent, n)
		for atomic.LoadUint64(&received) < n {
			time.Sleep(time.Millisecond)
		}
		rd.Close()
	}()
	var rec ringbuf.Record
	t0 := time.Now()
	last := t0
	for atomic.LoadUint64(&received) < atomic.LoadUint64(&sent) {
		if err := rd.ReadInto(&rec); err != nil {
			break // closed: everything sent was read
		}
		decode(rec.RawSample)
		atomic.AddUint64(&received, 1)
		last = time.Now()
	}
	rd.Close()
	return atomic.LoadUint64(&received), last.Sub(t0).Seconds()
}

func maxRssKb() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}

func main() {
	if len(os.Args) != 6 && len(os.Args) != 7 {
		fmt.Fprintf(os.Stderr, "usage: %s OBJ 16|exec drain|live|paced COUNT RUNS [RATE]\n", os.Args[0])
		os.Exit(2)
	}
	path, kind, mode := os.Args[1], os.Args[2], os.Args[3]
	count, _ := strconv.ParseUint(os.Args[4], 10, 64)
	runs, _ := strconv.Atoi(os.Args[5])
	var rate uint64
	if len(os.Args) == 7 && mode == "paced" {
		rate, _ = strconv.ParseUint(os.Args[6], 10, 64)
	}
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	// cilium/ebpf 0.9 knows "raw_tp/NAME" sections, not a bare "raw_tp" (libbpf's form).
	for _, p := range spec.Programs {
		if p.SectionName == "raw_tp" {
			p.Type = ebpf.RawTracepoint
		}
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	defer coll.Close()
	progName, decode := "produce16", decode16
	if kind == "exec" {
		progName, decode = "produce_exec", decodeExec
	}
	prog, counts := coll.Programs[progName], coll.Maps["counts"]
	if prog == nil {
		fmt.Fprintln(os.Stderr, "no program", progName, "in", path, coll.Programs)
		os.Exit(1)
	}
	var rec ringbuf.Record
	for r := 0; r < runs; r++ {
		for k := uint32(0); k < 2; k++ {
			_ = counts.Put(k, uint64(0))
		}
		var received uint64
		var seconds float64
		if mode == "drain" {
			rd, err := ringbuf.NewReader(coll.Maps["rb"])
			if err != nil {
				fmt.Fprintln(os.Stderr, "reader:", err)
				os.Exit(1)
			}
			for i := 0; i < 8; i++ {
				produce(prog, count, rbNoWakeup, 0)
				t0 := time.Now()
				for n := uint64(0); n < count; n++ {
					if err := rd.ReadInto(&rec); err != nil {
						fmt.Fprintln(os.Stderr, "read:", err)
						os.Exit(1)
					}
					decode(rec.RawSample)
				}
				seconds += time.Since(t0).Seconds()
			}
			rd.Close()
			received = 8 * count
		} else {
			received, seconds = live(coll.Maps["rb"], prog, counts, decode, count, rate)
		}
		fmt.Printf("{\"reader\":\"go\",\"mode\":\"%s\",\"size\":\"%s\",\"events\":%d,"+
			"\"seconds\":%.6f,\"dropped\":%d,\"maxrss_kb\":%d}\n",
			mode, kind, received, seconds, counter(counts, 1), maxRssKb())
	}
	_ = sum
}
