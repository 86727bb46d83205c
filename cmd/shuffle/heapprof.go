package main

import (
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// startHeapPeakProfile writes a heap profile to file each time the live
// heap grows 5% past its previous peak (SHUFFLE_HEAPPROFILE=FILE, for
// performance work): the file left at exit shows what the peak held.
func startHeapPeakProfile(file string) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	go func() {
		var peak uint64
		for range time.Tick(500 * time.Millisecond) {
			metrics.Read(s)
			live := s[0].Value.Uint64()
			if live < peak+peak/20 {
				continue
			}
			peak = live
			if f, err := os.Create(file + ".tmp"); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
				_ = os.Rename(file+".tmp", file)
			}
		}
	}()
}
