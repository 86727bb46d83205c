package copier

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/state"
)

// TagState is how far tagging a completed copy got; the copy record
// keeps it (state.CopyRecord.TagState).
type TagState string

// Tag states of a completed copy.
const (
	TagPending     TagState = ""            // not tagged yet
	TagApplied     TagState = "applied"     // the tag policy's tags are on the copy
	TagNone        TagState = "none"        // the tag policy gave no tags
	TagUnsupported TagState = "unsupported" // tags on these RPs live on the underlying snapshot
	TagError       TagState = "error"
)

type tagReq struct {
	rec state.CopyRecord
}

type tagRes struct {
	vault, arn string
	state      TagState
	err        string
}

// tagInFlight bounds the tagging requests handed to the workers at once.
const tagInFlight = 64

// tagPool is the tagging workers and the copies waiting for them. With
// no tagging configured it has no workers and drops what it is given.
type tagPool struct {
	ch      chan tagReq
	out     chan tagRes
	workers int
	wg      sync.WaitGroup
	pending int // handed to the workers, not answered yet
	backlog []tagReq
}

// startTaggers starts four tagging workers, each with its own tag
// mapping (its own Lua state); their calls use ctx.
func (c *Copier) startTaggers(ctx context.Context) (*tagPool, error) {
	p := &tagPool{ch: make(chan tagReq, tagInFlight), out: make(chan tagRes, 1024)}
	if c.Tags == nil || c.NewTagsFor == nil {
		return p, nil
	}
	for i := 0; i < 4; i++ {
		tagsFor, closeFn, err := c.NewTagsFor()
		if err != nil {
			return nil, err
		}
		p.workers++
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer closeFn()
			for r := range p.ch {
				p.out <- c.tag(ctx, tagsFor, r.rec)
			}
		}()
	}
	return p, nil
}

// queue adds a completed copy to tag.
func (p *tagPool) queue(r tagReq) {
	if p.workers == 0 {
		return
	}
	p.backlog = append(p.backlog, r)
}

// hand gives the workers what they can take without blocking.
func (p *tagPool) hand() {
	for len(p.backlog) > 0 && p.pending < tagInFlight {
		select {
		case p.ch <- p.backlog[0]:
			p.backlog = p.backlog[1:]
			p.pending++
			continue
		default:
		}
		break
	}
}

// idle says whether no tagging is in flight or waiting.
func (p *tagPool) idle() bool { return p.pending == 0 && len(p.backlog) == 0 }

// stop ends the pool and applies the answers still coming. Tags not yet
// applied stay pending in the state; the next run applies them.
func (p *tagPool) stop(c *Copier) {
	close(p.ch)
	go func() { p.wg.Wait(); close(p.out) }()
	for r := range p.out {
		c.tagged(r)
	}
}

// tag applies the tag mapping to one completed copy (a tagging goroutine).
func (c *Copier) tag(ctx context.Context, tagsFor func(context.Context, *state.RP) (map[string]string, error), rec state.CopyRecord) tagRes {
	res := tagRes{vault: rec.Vault, arn: rec.Arn}
	if !c.Taggable[rec.ResourceType] {
		res.state = TagUnsupported
		return res
	}
	rp, ok, err := c.Store.GetRP(rec.Vault, rec.Arn)
	if err != nil || !ok {
		res.state, res.err = TagError, fmt.Sprintf("read RP: ok=%v err=%v", ok, err)
		return res
	}
	tags, err := tagsFor(ctx, rp)
	if err != nil {
		res.state, res.err = TagError, "tag policy: "+err.Error()
		return res
	}
	if len(tags) == 0 {
		res.state = TagNone
		return res
	}
	if _, err := c.Tags.TagResource(ctx, &backup.TagResourceInput{ResourceArn: aws.String(rec.DestRPArn), Tags: tags}); err != nil {
		ce := awsclient.Classify(err)
		res.state, res.err = TagError, strings.TrimPrefix(ce.Code+": "+ce.Message, ": ")
		return res
	}
	res.state = TagApplied
	return res
}

// tagged records a tagging answer (the dispatcher goroutine).
func (c *Copier) tagged(r tagRes) {
	rec, ok, err := c.Store.GetCopy(r.vault, r.arn)
	if err != nil || !ok {
		return
	}
	rec.TagState, rec.TagError = string(r.state), r.err
	switch r.state {
	case TagApplied:
		c.sum.Tagged++
	case TagError:
		c.sum.TagErrors++
	}
	// The in-memory record (if any) is final; write the stored one.
	c.dirty[rec] = true
}
