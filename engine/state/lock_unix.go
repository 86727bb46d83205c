//go:build unix

package state

import (
	"os"
	"path/filepath"
	"syscall"
)

// lockHeld tells whether a process holds the Badger directory lock of
// bdir (Badger takes an flock on badger/LOCK), without creating the file.
func lockHeld(bdir string) bool {
	f, err := os.Open(filepath.Join(bdir, "LOCK"))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
