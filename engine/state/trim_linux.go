package state

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// madvRandom is MADV_RANDOM: expect page references in random order.
const madvRandom = 1

// pageOut unmaps the resident pages of the state's memory-mapped tables
// and value log files under dir from the process. Badger maps every
// table file and reads it through the mapping, so a full scan would
// otherwise leave the whole state resident in the process (about 800 MB
// at a million RPs). It returns the bytes of mapping advised.
//
// The advice is MADV_DONTNEED: every mapping here is a MAP_SHARED file
// mapping (ristretto's z.Mmap), so the pages leave the process but stay
// in the page cache with their contents (dirty ones included), and a
// page touched again is a minor fault, not a read from disk. It used to
// be MADV_PAGEOUT, which evicts them from the page cache too: a scan
// whose pages were paged out under it read them from disk again and
// again, and a read-only scan of a million RPs took 4-7 times as long
// (18-31 s instead of 4.2-4.3 s) for the same peak of a plan
// (docs/performance.md). The page cache is the kernel's to reclaim.
func pageOut(dir string) int64 {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			continue
		}
		path := f[5]
		if !strings.HasPrefix(path, dir) || !(strings.HasSuffix(path, ".sst") || strings.HasSuffix(path, ".vlog")) {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// The mapping may be gone by now (a compaction deleted its table):
		// the call then fails or advises whatever took its place, which
		// these hints cannot harm.
		if strings.HasSuffix(path, ".vlog") {
			// Value-log reads are point reads of single records. Without
			// this a read fault reads ahead around the record (up to the
			// device's read_ahead_kb: 8 MB on the machines here) and maps
			// the large folios that readahead built: about 1.4 MB per
			// record read, 170 MB for the few hundred records read at the
			// end of a million-RP listing.
			_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), madvRandom)
		}
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED) // see above
		total += int64(end - start)
	}
	return total
}

// mapsDir is how /proc/self/maps names files under dir.
func mapsDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir + string(filepath.Separator)
}
