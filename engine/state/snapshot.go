package state

// snapshotsDir is where run --snapshots keeps its backups, in the state directory.
const snapshotsDir = "snapshots"
