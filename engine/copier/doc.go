// Package copier is the copy engine: it turns the state's included
// recovery points into AWS Backup copy jobs, exactly once, within the
// quotas and the change window, tracks them to their end, retries what
// is worth retrying and tags the copies.
//
// Its parts, one file each: the dispatcher (dispatch.go) owns every
// piece of run state and reacts to one event at a time; starting
// (start.go: the worker pool and the reactions to StartCopyJob's
// answers; limits.go: reading LimitExceededException by how refusals
// spread, and the AIMD decreases it leads to), polling and the watermark (poll.go), tagging (tag.go),
// requeue (requeue.go), the dry-run preview (preview.go), adoption of
// copies the state has no record of (adopt*.go), RPs parked until their
// vault is ready (awaited.go), the schedule (sched.go), the narrow AWS
// API and its pacing (api.go) and its reading of failed jobs
// (errors.go). It sorts AWS errors with awsclient.Classify and predicts
// durations with engine/estimate, the models it shares with the rest of
// shuffle. ADR 0002 is the protocol it follows.
//
// It must not run Lua (tag mappings come in as functions), draw or
// print anything (the UI reads engine/progress), read settings from
// globals or the environment (everything arrives as Copier fields and
// Run's arguments), or import the engine root: what it needs from there
// comes in through its own narrow interfaces and fields.
package copier
