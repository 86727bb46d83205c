package state

import (
	"archive/tar"
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
const snapshotSuffix = ".tar"

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
	return writeThroughTemp(path, s.Backup)
}

func writeThroughTemp(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
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

// SnapshotOnClose makes a clean Close keep a snapshot of the state in
// STATE/snapshots, and the newest keep of them (0: none). A snapshot is
// a tar of the closed Badger files and the marker: consistent because
// Badger is closed, and read with plain reads, so that it neither maps
// the value logs into the process nor fights the page-out loop (Badger's
// backup stream took 2 minutes for a million RPs on a busy machine).
func (s *Store) SnapshotOnClose(keep int) { s.snapKeep = keep }

// SnapshotResult is the snapshot the last Close wrote, or why it did
// not ("" and nil: none was asked for, or the close was not clean).
func (s *Store) SnapshotResult() (string, error) { return s.snapPath, s.snapErr }

// snapshot writes the snapshot after a clean close.
func (s *Store) snapshot() (string, error) {
	sdir := filepath.Join(s.Dir, snapshotsDir)
	if err := os.MkdirAll(sdir, 0o700); err != nil {
		return "", err
	}
	// A process killed while writing one leaves its temporary file.
	if old, _ := filepath.Glob(filepath.Join(sdir, ".*"+snapshotSuffix+".tmp-*")); len(old) > 0 {
		for _, p := range old {
			_ = os.Remove(p)
		}
	}
	path := filepath.Join(sdir, time.Now().UTC().Format("20060102T150405.000Z")+snapshotSuffix)
	if err := writeThroughTemp(path, func(w io.Writer) error { return tarState(s.Dir, w) }); err != nil {
		return "", err
	}
	snaps, err := Snapshots(s.Dir)
	for err == nil && len(snaps) > s.snapKeep {
		err = os.Remove(snaps[0])
		snaps = snaps[1:]
	}
	return path, err
}

// tarState writes the marker and the Badger files of a closed state.
func tarState(dir string, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	tw := tar.NewWriter(bw)
	files := []string{MarkerName}
	ents, err := os.ReadDir(filepath.Join(dir, "badger"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() && e.Name() != "LOCK" {
			files = append(files, filepath.Join("badger", e.Name()))
		}
	}
	for _, name := range files {
		if err := tarFile(tw, dir, name); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func tarFile(tw *tar.Writer, dir, name string) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	hdr, err := tar.FileInfoHeader(info, "")
	if err != nil {
		return err
	}
	hdr.Name = filepath.ToSlash(name)
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
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
	br := bufio.NewReaderSize(r, 1<<20)
	if head, _ := br.Peek(512); len(head) == 512 && string(head[257:262]) == "ustar" {
		err = untarState(tmp, br)
	} else {
		err = loadBackup(tmp, br)
	}
	if err != nil {
		return "", err
	}
	// Open and close once: the marker, the state id, a clean close.
	// Copies started after the backup was taken have no record in it,
	// so the restored state forgets its adoption sweep: the next run
	// sweeps AWS again before its first StartCopyJob.
	st, err := Open(tmp)
	if err != nil {
		return "", fmt.Errorf("the restored state does not open: %w", err)
	}
	if err := st.ForgetAdoption(); err != nil {
		st.Close()
		return "", fmt.Errorf("the restored state: forget the adoption sweep: %w", err)
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

// untarState unpacks a snapshot into dir: the marker and badger/ only.
func untarState(dir string, r io.Reader) error {
	tr := tar.NewReader(r)
	if err := os.MkdirAll(filepath.Join(dir, "badger"), 0o700); err != nil {
		return err
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the snapshot: %w", err)
		}
		name := filepath.FromSlash(hdr.Name)
		if hdr.Typeflag != tar.TypeReg || (name != MarkerName && filepath.Dir(name) != "badger") || strings.Contains(name, "..") {
			return fmt.Errorf("the snapshot holds %q, which is not a state file", hdr.Name)
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// loadBackup loads a backup stream into a new Badger in dir/badger, and
// gives the state the id the backup holds, or a new one.
func loadBackup(dir string, r io.Reader) error {
	db, err := openBadger(badgerOptions(filepath.Join(dir, "badger"), false))
	if err != nil {
		return err
	}
	if err := db.Load(r, 256); err != nil {
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
