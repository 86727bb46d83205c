package state

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// snapshotsDir is where run --snapshots keeps its backups, in the state
// directory.
const snapshotsDir = "snapshots"

// snapshotSuffix ends the name of every snapshot file.
const snapshotSuffix = ".backup"

// Backup writes a consistent copy of every record to w, as Badger's
// backup stream (one read transaction: what was committed when it
// started).
func (s *Store) Backup(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := s.db.Backup(bw, 0); err != nil {
		return fmt.Errorf("back up state %s: %w", s.Dir, err)
	}
	return bw.Flush()
}

// BackupFile writes Backup to path through a temporary file, fsynced
// and renamed: path is either a whole backup or absent.
func (s *Store) BackupFile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = s.Backup(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// Snapshot writes a backup into dir/snapshots and keeps the newest
// keep of them. It returns the new file's path.
func (s *Store) Snapshot(keep int, now time.Time) (string, error) {
	sdir := filepath.Join(s.Dir, snapshotsDir)
	if err := os.MkdirAll(sdir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(sdir, now.UTC().Format("20060102T150405.000Z")+snapshotSuffix)
	if err := s.BackupFile(path); err != nil {
		return "", err
	}
	snaps, err := Snapshots(s.Dir)
	if err != nil {
		return path, err
	}
	for len(snaps) > keep {
		if err := os.Remove(snaps[0]); err != nil {
			return path, err
		}
		snaps = snaps[1:]
	}
	return path, nil
}

// Snapshots lists the snapshot files of the state in dir, oldest first.
func Snapshots(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, snapshotsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), snapshotSuffix) && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(dir, snapshotsDir, e.Name()))
		}
	}
	sort.Strings(out) // names are UTC times
	return out, nil
}

// HasState tells whether dir holds a state (a marker or Badger files).
func HasState(dir string) (bool, error) {
	if _, err := os.Stat(filepath.Join(dir, MarkerName)); err == nil {
		return true, nil
	}
	files, ok, err := listBadger(filepath.Join(dir, "badger"))
	if err != nil {
		return false, err
	}
	return ok && !files.empty(), nil
}

// Restore builds the state in dir from a backup stream: it loads the
// backup into a new directory beside dir, checks it opens, and only
// then puts it in dir's place. A state already in dir is moved aside
// (its path is returned) unless there is none; callers refuse to
// replace one without the operator's say-so. The snapshots directory
// moves over to the restored state.
func Restore(dir string, r io.Reader) (aside string, err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".restore-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := loadBackup(tmp, r); err != nil {
		return "", err
	}
	// Open and close once: the marker, the state id, a clean close.
	st, err := Open(tmp)
	if err != nil {
		return "", fmt.Errorf("the restored state does not open: %w", err)
	}
	if err := st.Close(); err != nil {
		return "", err
	}
	if _, err := os.Stat(dir); err == nil {
		aside = fmt.Sprintf("%s.before-restore-%s", dir, time.Now().UTC().Format("20060102T150405Z"))
		for i := 2; ; i++ {
			if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
				break
			}
			aside = fmt.Sprintf("%s.before-restore-%s-%d", dir, time.Now().UTC().Format("20060102T150405Z"), i)
		}
		if err := os.Rename(dir, aside); err != nil {
			return "", fmt.Errorf("move the old state aside: %w", err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if aside != "" {
			_ = os.Rename(aside, dir)
		}
		return "", fmt.Errorf("put the restored state in place: %w", err)
	}
	if aside != "" {
		if err := os.Rename(filepath.Join(aside, snapshotsDir), filepath.Join(dir, snapshotsDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return aside, fmt.Errorf("move the snapshots over from %s: %w", aside, err)
		}
	}
	return aside, syncDir(parent)
}

// loadBackup loads a backup stream into a new Badger in dir/badger, and
// gives the state the id the backup holds, or a new one.
func loadBackup(dir string, r io.Reader) error {
	db, err := openBadger(badgerOptions(filepath.Join(dir, "badger"), false))
	if err != nil {
		return err
	}
	if err := db.Load(bufio.NewReaderSize(r, 1<<20), 256); err != nil {
		db.Close()
		return fmt.Errorf("load the backup: %w (is it a file 'shuffle state backup' or --snapshots wrote?)", err)
	}
	var hasSchema bool
	err = db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(keySchema)
		hasSchema = err == nil
		return nil
	})
	if err == nil && !hasSchema {
		err = errors.New("the backup holds no shuffle state (no schema record)")
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}
