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

// madvPageout is MADV_PAGEOUT (Linux 5.4): reclaim the pages of a range.
// It is a hint that never changes memory contents: on a file mapping it
// drops clean pages (they are read again from the file when touched), on
// anything else it does at most what memory pressure would.
const madvPageout = 21

// madvRandom is MADV_RANDOM: expect page references in random order.
const madvRandom = 1

// pageOut asks the kernel to reclaim the resident pages of the state's
// memory-mapped tables and value log files under dir. Badger maps every
// table file and reads it through the mapping, so a full scan would
// otherwise leave the whole state resident in the process (about 800 MB
// at a million RPs): clean, file-backed pages that the kernel would
// reclaim only under pressure. It returns the bytes of mapping advised.
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
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), madvPageout)
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
